"""The dataset version and snapshot endpoints driven through every answer their schema documents, for
tests/test_openapi_schema.py (which checks each answer against the schema and that none is left out)."""

from typing import Any

from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_run
from tests.conftest import choice
from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats


def _raw(caller: Any, url: str, *, expect: int, **headers: str) -> bytes:
    """A GET with headers the schema walk's caller does not send (Range, If-None-Match), checked the same way."""
    response = caller.client.get(url, **headers)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == expect, (url, response.status_code, content[:300])
    caller.responses.check("get", url, response.status_code, content)
    return content


def walk_datasets(call: Any, make_project: Any, cast: Any, settings: Any, tmp_path: Any) -> None:
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    manager, reviewer = call("manager"), call("reviewer")
    annotator, outsider = call("annotator"), call("outsider")
    project = make_project(tasks=[{"text": "Rates rose."}, {"text": "Rates fell."}, {"text": "Flat."}])
    for task, label in zip(project.tasks.order_by("inner_id")[:2], ("Positive", "Negative"), strict=True):
        annotation_create(task=task, user=cast.users["annotator"], result=choice(label))
    datasets = f"/api/projects/{project.pk}/datasets/"
    recipe = {"formats": ["test_jsonl", "test_whole"], "splits": {"train": 0.5, "test": 0.5}}

    # Build, list, preview.
    annotator("post", datasets, recipe, expect=403)
    outsider("post", datasets, recipe, expect=404)
    manager("post", datasets, {"formats": ["nope"]}, expect=400)
    first = manager("post", datasets, recipe, expect=201)
    building = manager("post", datasets, recipe, expect=201)
    dataset_version_run(version_id=first["id"])
    reviewer("get", datasets, expect=200)
    annotator("get", datasets, expect=403)
    outsider("get", datasets, expect=404)
    preview = f"{datasets}preview"
    manager("post", preview, recipe, expect=200)
    manager("post", preview, {"splits": {"train": 0.5}}, expect=400)
    annotator("post", preview, recipe, expect=403)
    outsider("post", preview, recipe, expect=404)

    # A version, its downloads (ETag, ranges) and a diff.
    version = f"/api/datasets/{first['id']}/"
    reviewer("get", version, expect=200)
    annotator("get", version, expect=403)
    outsider("get", version, expect=404)
    download = f"{version}download?format=test_jsonl&split=train"
    reviewer("get", download, expect=200)
    etag = reviewer.client.get(download)["ETag"]
    _raw(reviewer, download, expect=304, HTTP_IF_NONE_MATCH=etag)
    _raw(reviewer, download, expect=206, HTTP_RANGE="bytes=0-3")
    _raw(reviewer, download, expect=416, HTTP_RANGE="bytes=999999-")
    reviewer("get", f"{version}download?format=nope", expect=400)
    reviewer("get", f"/api/datasets/{building['id']}/download?format=test_whole", expect=409)
    annotator("get", download, expect=403)
    outsider("get", download, expect=404)
    dataset_version_run(version_id=building["id"])
    diff = f"/api/datasets/{building['id']}/diff"
    reviewer("get", f"{diff}?other={first['id']}", expect=200)
    reviewer("get", diff, expect=400)
    annotator("get", f"{diff}?other={first['id']}", expect=403)
    outsider("get", f"{diff}?other={first['id']}", expect=404)
    queued = manager("post", datasets, recipe, expect=201)
    reviewer("get", f"{diff}?other={queued['id']}", expect=409)

    # Label Studio's snapshots.
    exports = f"/api/projects/{project.pk}/exports/"
    annotator("post", exports, {"title": "s"}, expect=403)
    outsider("post", exports, {"title": "s"}, expect=404)
    manager("post", exports, {"task_filter_options": "all"}, expect=400)
    snapshot = manager("post", exports, {"title": "s"}, expect=201)
    pending = f"{exports}{snapshot['id']}/download?exportType=test_whole"
    reviewer("get", pending, expect=409)
    dataset_version_run(version_id=snapshot["id"])
    reviewer("get", exports, expect=200)
    annotator("get", exports, expect=403)
    outsider("get", exports, expect=404)
    one = f"{exports}{snapshot['id']}/"
    reviewer("get", one, expect=200)
    annotator("get", one, expect=403)
    outsider("get", one, expect=404)
    reviewer("get", pending, expect=200)
    reviewer("get", f"{one}download?exportType=NOPE", expect=400)
    annotator("get", pending, expect=403)
    outsider("get", pending, expect=404)
    annotator("delete", one, expect=403)
    outsider("delete", one, expect=404)
    manager("delete", one, expect=204)

    # Deletion last.
    reviewer("delete", version, expect=403)
    outsider("delete", version, expect=404)
    manager("delete", version, expect=204)
