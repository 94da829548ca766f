"""GET /api/projects/{id}/datasets/formats driven through every answer its schema documents, for
tests/test_openapi_schema.py."""

from typing import Any

from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats


def walk_dataset_formats(call: Any, make_project: Any) -> None:
    project = make_project(tasks=[{"text": "Rates rose."}])
    formats = f"/api/projects/{project.pk}/datasets/formats"
    listed = call("manager")("get", formats, expect=200)
    assert {"test_jsonl", "test_images_only"} <= {row["name"] for row in listed}
    call("reviewer")("get", formats, expect=403)
    call("outsider")("get", formats, expect=404)
