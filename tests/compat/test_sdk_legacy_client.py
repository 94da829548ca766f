"""The SDK's legacy ``Client`` (``from label_studio_sdk import Client``), still shipped in 2.x and used by
many existing scripts: it reads /api/version on start, pages tasks until a 404, and parses JSON itself."""

import threading

import pytest
from label_studio_sdk import Client
from requests import HTTPError

from annotation.models import Annotation, Prediction, Task
from tests.conftest import SENTIMENT_CONFIG, choice

pytestmark = pytest.mark.compat


def _within(seconds: float, call):
    """``call()``'s result, or a failure after ``seconds``; a daemon thread cannot hold up the exit."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{call} still running after {seconds} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_legacy_client_runs_the_labeling_loop(live_server, cast):
    client = Client(url=live_server.url, api_key=cast.tokens["manager"])
    project = client.start_project(title="Legacy script", label_config=SENTIMENT_CONFIG)
    assert project.id and project.get_params()["title"] == "Legacy script"

    task_ids = project.import_tasks([{"text": f"Headline {i}"} for i in range(230)])
    assert len(task_ids) == 230 and Task.objects.filter(project_id=project.id).count() == 230

    # 100, 100, 30, then a 404 ends the loop: an empty 200 would page forever, so a thread
    # with a deadline turns that regression into a failure instead of a hung suite.
    tasks = _within(60, project.get_tasks)
    assert [t["data"]["text"] for t in tasks] == [f"Headline {i}" for i in range(230)]
    assert project.get_task(task_ids[0])["data"] == {"text": "Headline 0"}

    prediction = project.create_prediction(
        task_ids[0], result=choice("Positive"), score=0.7, model_version="v1"
    )
    assert Prediction.objects.get(pk=prediction["id"]).model_version == "v1"
    annotator = Client(url=live_server.url, api_key=cast.tokens["annotator"]).get_project(project.id)
    annotation = annotator.create_annotation(task_ids[0], result=choice("Negative"), lead_time=2.5)
    annotator.update_annotation(annotation["id"], result=choice("Neutral"))
    assert Annotation.objects.get(pk=annotation["id"]).result == choice("Neutral")

    project.set_params(title="Legacy script v2")
    assert client.get_project(project.id).get_params()["title"] == "Legacy script v2"
    exported = project.export_tasks()
    assert [(t["id"], t["annotations"][0]["result"]) for t in exported] == [(task_ids[0], choice("Neutral"))]
    assert len(project.export_tasks(download_all_tasks=True)) == 230


def test_legacy_client_reports_a_refused_import(live_server, cast, make_project):
    project = Client(url=live_server.url, api_key=cast.tokens["manager"]).get_project(make_project().pk)
    with pytest.raises(HTTPError) as raised:
        project.import_tasks([{"text": "fine"}, {"headline": "no text"}])
    assert raised.value.response.status_code == 400
    assert raised.value.response.json()["error"]["field"].startswith("tasks[1]")
    assert not Task.objects.filter(project_id=project.id).exists()
