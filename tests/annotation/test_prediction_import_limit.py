"""The prediction import is parsed whole in memory, so its body is bounded by
TESSERA_MAX_PREDICTION_IMPORT_BYTES (not by the task import's TESSERA_MAX_UPLOAD_BYTES, which streams to
disk): on the length it declares and on the bytes read from a chunked body, 413 with the one error
shape, before any row is written."""

import json

import pytest

from annotation.models import Prediction
from tests.annotation.test_chunked_bodies import send_chunked
from tests.conftest import choice

pytestmark = pytest.mark.django_db

LIMIT = 4096


@pytest.fixture
def project(make_project, settings):
    settings.TESSERA_MAX_PREDICTION_IMPORT_BYTES = LIMIT
    return make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])


def body(project, size_at_least: int) -> bytes:
    """Valid predictions for the project's tasks, padded with model versions to the size asked for."""
    tasks = list(project.tasks.order_by("inner_id").values_list("pk", flat=True))
    items: list[dict] = []
    while len(json.dumps(items)) < size_at_least:
        items.append(
            {"task": tasks[len(items) % 2], "result": choice("Neutral"), "model_version": f"v{len(items)}"}
        )
    return json.dumps(items).encode()


def assert_too_large(response) -> None:
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "too_large" and error["message"] and set(error) == {"code", "message", "field"}


def test_a_prediction_import_over_its_limit_is_refused_by_its_declared_length(api, project):
    raw = body(project, LIMIT + 1)
    response = api("manager").post(
        f"/api/projects/{project.pk}/import/predictions", data=raw, content_type="application/json"
    )
    assert_too_large(response)
    assert str(LIMIT) in response.json()["error"]["message"]
    assert not Prediction.objects.exists()


def test_a_chunked_prediction_import_is_refused_once_the_bytes_read_pass_the_limit(api, project):
    response = send_chunked(
        api("manager"), "post", f"/api/projects/{project.pk}/import/predictions", body(project, LIMIT + 1)
    )
    assert_too_large(response)
    assert not Prediction.objects.exists()


def test_the_limit_is_its_own_not_the_task_imports(api, project, settings):
    # The task import's much larger bound no longer applies to predictions.
    settings.TESSERA_MAX_UPLOAD_BYTES = 10 * LIMIT
    assert_too_large(
        api("owner").post(
            f"/api/projects/{project.pk}/import/predictions",
            data=body(project, LIMIT + 1),
            content_type="application/json",
        )
    )
    assert not Prediction.objects.exists()


def test_a_prediction_import_within_its_limit_is_read_even_above_the_memory_limit_of_other_requests(
    api, project, settings
):
    # Other requests are held to DATA_UPLOAD_MAX_MEMORY_SIZE; the prediction import to its own setting.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    raw = body(project, 2048)
    assert 1024 < len(raw) <= LIMIT
    response = api("manager").post(
        f"/api/projects/{project.pk}/import/predictions", data=raw, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert Prediction.objects.count() == len(json.loads(raw)) == response.json()["created"]
    chunked = send_chunked(api("manager"), "post", f"/api/projects/{project.pk}/import/predictions", raw)
    assert chunked.status_code == 201, chunked.content
