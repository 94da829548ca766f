"""The dataset version endpoints: roles, other organizations, bad recipes, downloads with ETag and ranges,
preview and diff."""

import pytest

from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_run
from exports.datasets import storage
from tessera.models import AuditEvent
from tests.conftest import choice, post_json
from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats

pytestmark = pytest.mark.django_db

RECIPE = {"formats": ["test_jsonl", "test_whole"], "splits": {"train": 0.5, "test": 0.5}, "stratify": True}


@pytest.fixture(autouse=True)
def datasets_dir(settings, tmp_path):
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"


@pytest.fixture
def project(make_project, cast):
    project = make_project(tasks=[{"text": f"t{i}", "doc": f"d{i % 3}"} for i in range(12)])
    for index, task in enumerate(project.tasks.order_by("inner_id")):
        if index < 10:
            annotation_create(
                task=task, user=cast.users["annotator"], result=choice(("Positive", "Negative")[index % 2])
            )
    return project


def create(api, project, body=RECIPE, role="manager"):
    return post_json(api(role), f"/api/projects/{project.pk}/datasets/", body)


@pytest.fixture
def built(api, project):
    response = create(api, project)
    assert response.status_code == 201, response.content
    dataset_version_run(version_id=response.json()["id"])
    return response.json()["id"]


def test_a_manager_builds_a_version_that_starts_queued(api, project):
    response = create(api, project)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "created"
    assert body["progress"] == {"done": 0, "total": 10}
    assert body["recipe"]["splits"] == {"train": 0.5, "test": 0.5}
    assert body["files"] == [] and body["parent"] is None
    # The builder by name, as Label Studio's snapshots name theirs (the page shows who built each one).
    assert body["created_by"]["email"] == "manager@acme.test"


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotators_and_reviewers_cannot_build(api, project, role):
    assert create(api, project, role=role).status_code == 403


def test_annotators_cannot_list_read_or_download(api, project, built):
    annotator = api("annotator")
    assert annotator.get(f"/api/projects/{project.pk}/datasets/").status_code == 403
    assert annotator.get(f"/api/datasets/{built}/").status_code == 403
    assert annotator.get(f"/api/datasets/{built}/download?format=test_whole").status_code == 403
    assert annotator.delete(f"/api/datasets/{built}/").status_code == 403


def test_another_organizations_versions_are_not_found(api, project, built):
    outsider = api("outsider")
    assert outsider.get(f"/api/datasets/{built}/").status_code == 404
    assert outsider.get(f"/api/datasets/{built}/download?format=test_whole").status_code == 404
    assert outsider.delete(f"/api/datasets/{built}/").status_code == 404
    assert outsider.get(f"/api/projects/{project.pk}/datasets/").status_code == 404
    assert create(api, project, role="outsider").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"formats": ["test_jsonl"], "tasks": {"selectedItems": {"all": False, "included": [999999]}}}, "tasks"),
        ({"formats": ["COCO_NOT_HERE"]}, "formats"),
        ({"formats": ["test_images_only"]}, "formats"),
        ({"formats": ["test_jsonl"], "splits": {"train": 0.5, "test": 0.4}}, "splits"),
        ({"formats": ["test_jsonl"], "group_by": "no_such_field"}, "group_by"),
        ({"formats": ["test_jsonl"], "review": ["accepted"]}, "tasks"),
        ({"formats": ["test_jsonl"], "review": ["submitted"], "result": "reviewed"}, "tasks"),
        ({"splits": {"train": 1}}, "formats"),
    ],
)  # fmt: skip
def test_bad_recipes_are_400s_naming_the_field(api, project, body, field):
    response = create(api, project, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field


def test_a_built_version_shows_files_counts_and_its_card(api, project, built):
    body = api("reviewer").get(f"/api/datasets/{built}/").json()
    assert body["status"] == "completed"
    assert body["counts"]["splits"] == {"train": 5, "test": 5}
    labels = body["counts"]["labels"]
    assert {split: sum(per.values()) for split, per in labels.items()} == {"train": 5, "test": 5}
    assert labels["train"].get("Positive", 0) + labels["test"].get("Positive", 0) == 5
    # Stratified: each label splits as evenly as its count allows.
    assert {labels["train"]["Positive"], labels["test"]["Positive"]} == {2, 3}
    assert {(f["format"], f["split"]) for f in body["files"]} == {
        ("test_jsonl", "train"), ("test_jsonl", "test"), ("test_whole", None), ("card", None), ("manifest", None)
    }  # fmt: skip
    assert all(set(f) == {"format", "split", "bytes", "sha256"} for f in body["files"])
    assert body["card"].startswith("---\n")
    listed = api("reviewer").get(f"/api/projects/{project.pk}/datasets/").json()
    assert [v["id"] for v in listed] == [built]


def _content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_download_streams_the_file_with_its_etag_and_answers_304(api, built):
    client = api("reviewer")
    body = client.get(f"/api/datasets/{built}/").json()
    entry = next(f for f in body["files"] if f["format"] == "test_jsonl" and f["split"] == "train")
    response = client.get(f"/api/datasets/{built}/download?format=test_jsonl&split=train")
    assert response.status_code == 200
    content = _content(response)
    assert len(content) == entry["bytes"]
    assert response["ETag"] == f'"{entry["sha256"]}"'
    assert response["Content-Disposition"] == f'attachment; filename="dataset-{built}-test_jsonl-train.jsonl"'
    again = client.get(
        f"/api/datasets/{built}/download?format=test_jsonl&split=train", HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_download_serves_a_single_range_and_refuses_a_bad_one(api, built):
    client = api("reviewer")
    url = f"/api/datasets/{built}/download?format=test_whole"
    whole = _content(client.get(url))
    part = client.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert _content(part) == whole[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(whole)}"
    tail = client.get(url, HTTP_RANGE="bytes=-5")
    assert _content(tail) == whole[-5:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416
    assert client.get(url, HTTP_RANGE="bytes=abc").status_code == 416


def test_download_names_a_missing_format_or_split(api, built):
    client = api("reviewer")
    assert client.get(f"/api/datasets/{built}/download?format=nope").json()["error"]["field"] == "format"
    assert client.get(f"/api/datasets/{built}/download?format=test_jsonl").json()["error"]["field"] == "split"


def test_a_version_not_yet_built_cannot_be_downloaded(api, project):
    version = create(api, project).json()["id"]
    assert api("reviewer").get(f"/api/datasets/{version}/download?format=test_whole").status_code == 409


def test_preview_counts_splits_and_labels_without_building(api, project):
    response = post_json(api("manager"), f"/api/projects/{project.pk}/datasets/preview", RECIPE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 10 and body["splits"] == {"train": 5, "test": 5}
    assert sum(sum(labels.values()) for labels in body["labels"].values()) == 10
    # Formats change no count: a preview needs none, and a bare recipe previews every task in train.
    bare = post_json(api("manager"), f"/api/projects/{project.pk}/datasets/preview", {})
    assert bare.status_code == 200, bare.content
    assert bare.json()["splits"] == {"train": 10}
    wrong = post_json(
        api("manager"), f"/api/projects/{project.pk}/datasets/preview", {"splits": {"train": 0.5}}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "splits"


def test_diff_counts_tasks_added_removed_and_relabeled(api, project, cast, built):
    tasks = list(project.tasks.order_by("inner_id"))
    annotation_create(task=tasks[10], user=cast.users["annotator"], result=choice("Positive"))
    second = create(api, project).json()["id"]
    dataset_version_run(version_id=second)
    body = api("reviewer").get(f"/api/datasets/{second}/diff?other={built}").json()
    assert (body["added"], body["removed"], body["relabeled"]) == (1, 0, 0)
    assert body["samples"]["added"] == [tasks[10].pk]


def test_a_manager_deletes_a_version(api, built):
    assert api("reviewer").delete(f"/api/datasets/{built}/").status_code == 403
    assert api("manager").delete(f"/api/datasets/{built}/").status_code == 204
    assert api("manager").get(f"/api/datasets/{built}/").status_code == 404


def test_deleting_the_project_removes_its_versions_files(
    api, project, built, django_capture_on_commit_callbacks
):
    folder = storage.version_dir(project_id=project.pk, version_id=built)
    assert any(folder.iterdir())
    with django_capture_on_commit_callbacks(execute=True):
        assert api("manager").delete(f"/api/projects/{project.pk}/").status_code == 204
    assert not folder.exists()
    assert api("manager").get(f"/api/datasets/{built}/").status_code == 404


def test_a_download_is_on_the_record(api, cast, built):
    api("reviewer").get(f"/api/datasets/{built}/download?format=test_jsonl&split=train")
    event = AuditEvent.objects.filter(action="dataset_version.download").get()
    assert (event.object_id, event.details) == (built, {"format": "test_jsonl", "split": "train"})
