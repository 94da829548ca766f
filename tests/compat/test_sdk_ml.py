"""label-studio-sdk's ``client.ml`` against a live Tessera and a real ML backend on loopback."""

import pytest
from label_studio_sdk import types as sdk_types
from label_studio_sdk.core.api_error import ApiError

from tests.compat.conftest import raw_get, strictly
from tests.conftest import SENTIMENT_CONFIG, choice
from tests.training.loopback_servers import ml_backend_routes, serve
from training.models import Prelabeler
from training.prelabelers.base import PredictionOut, TaskInput
from training.services.prelabelers import backend_for

pytestmark = pytest.mark.compat


def positive(body: dict) -> dict:
    return {"results": [{"result": choice("Positive"), "score": 0.9} for _ in body["tasks"]]}


def test_sdk_registers_lists_and_removes_an_ml_backend(sdk, cast, settings):
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    ls = sdk("manager")
    project = ls.projects.create(title="ML", label_config=SENTIMENT_CONFIG)
    ls.projects.import_tasks(project.id, request=[{"text": "Shares rose."}])
    with serve(ml_backend_routes(positive, model_version="finbert-2")) as server:
        created = ls.ml.create(url=server.url, project=project.id, title="FinBERT")
        assert created.id and created.url == server.url and created.project == project.id
        assert created.state == "CO" and created.model_version == "finbert-2"
        listed = ls.ml.list(project=project.id)
        assert [backend.id for backend in listed] == [created.id]
        for body in raw_get(ls, "api/ml/", project=project.id):
            strictly(sdk_types.MlBackend, body)
        strictly(sdk_types.MlBackend, raw_get(ls, f"api/ml/{created.id}"))
        assert ls.ml.get(created.id).title == "FinBERT"
        updated = ls.ml.update(created.id, title="FinBERT v2", url=server.url, project=project.id)
        assert updated.title == "FinBERT v2"
        # The pre-labeler behind it predicts through the same server.
        prelabeler = Prelabeler.objects.get(pk=created.id)
        task = prelabeler.project.tasks.get()
        [answer] = backend_for(prelabeler).predict([TaskInput(task.pk, task.data)])
        assert isinstance(answer, PredictionOut) and answer.result == choice("Positive")
    with pytest.raises(ApiError) as caught:
        sdk("outsider").ml.get(created.id)
    assert caught.value.status_code == 404
    with pytest.raises(ApiError) as caught:
        sdk("annotator").ml.list(project=project.id)
    assert caught.value.status_code == 403
    ls.ml.delete(created.id)
    assert ls.ml.list(project=project.id) == []


def test_sdk_gets_a_400_naming_url_for_a_loopback_server_without_the_allow_list(sdk, settings):
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = []
    ls = sdk("manager")
    project = ls.projects.create(title="ML", label_config=SENTIMENT_CONFIG)
    with serve(ml_backend_routes(positive)) as server:
        with pytest.raises(ApiError) as caught:
            ls.ml.create(url=server.url, project=project.id)
        assert server.requests == []
    assert caught.value.status_code == 400
    assert caught.value.body["error"]["field"] == "url"
    assert ls.ml.list(project=project.id) == []
