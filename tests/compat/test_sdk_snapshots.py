"""label-studio-sdk's snapshot exports (``projects.exports``) against a live Tessera: create, get, list,
download in a registered format, delete. A snapshot is a dataset version built by a worker; the test
runs the build itself (no worker listens here)."""

import json

import pytest
from label_studio_sdk import types as sdk_types
from label_studio_sdk.core.api_error import ApiError

from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_run
from tests.compat.conftest import raw_get, strictly
from tests.conftest import choice
from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats

pytestmark = pytest.mark.compat


@pytest.fixture(autouse=True)
def datasets_dir(settings, tmp_path):
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"


@pytest.fixture
def project(make_project, cast):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(4)])
    tasks = list(project.tasks.order_by("inner_id"))
    for task, label in zip(tasks[:3], ("Positive", "Negative", "Positive"), strict=True):
        annotation_create(task=task, user=cast.users["annotator"], result=choice(label))
    return project


def test_sdk_creates_lists_gets_and_downloads_a_snapshot(sdk, project):
    ls = sdk("manager")
    created = ls.projects.exports.create(id=project.pk, title="Weekly snapshot")
    assert created.id is not None and created.title == "Weekly snapshot" and created.status == "created"

    dataset_version_run(version_id=created.id)

    got = ls.projects.exports.get(id=project.pk, export_pk=created.id)
    assert got.status == "completed" and got.counters == {"task_number": 3}
    assert got.created_by is not None and got.created_by.email == "manager@acme.test"
    strictly(sdk_types.Export, raw_get(ls, f"api/projects/{project.pk}/exports/{created.id}/"))
    listed = ls.projects.exports.list(id=project.pk)
    assert [export.id for export in listed] == [created.id]

    body = b"".join(
        ls.projects.exports.download(id=project.pk, export_pk=created.id, export_type="test_whole")
    )
    rows = [json.loads(line) for line in body.splitlines()]
    # A snapshot holds every annotation, not one chosen result.
    assert [row["result"] for row in rows] == [[], [], []]
    assert [len(row["annotation_ids"]) for row in rows] == [1, 1, 1]


def test_sdk_download_in_an_unknown_format_is_a_400_naming_it(sdk, project):
    ls = sdk("manager")
    created = ls.projects.exports.create(id=project.pk, title="s")
    dataset_version_run(version_id=created.id)
    with pytest.raises(ApiError) as caught:
        b"".join(ls.projects.exports.download(id=project.pk, export_pk=created.id, export_type="NOPE"))
    assert caught.value.status_code == 400


def test_sdk_deletes_a_snapshot_and_annotators_cannot_make_one(sdk, project):
    created = sdk("manager").projects.exports.create(id=project.pk, title="s")
    with pytest.raises(ApiError) as caught:
        sdk("annotator").projects.exports.create(id=project.pk, title="s")
    assert caught.value.status_code == 403
    sdk("manager").projects.exports.delete(id=project.pk, export_pk=created.id)
    assert list(sdk("manager").projects.exports.list(id=project.pk)) == []


def test_sdk_downloads_a_snapshot_as_label_studio_json(sdk, project):
    ls = sdk("manager")
    created = ls.projects.exports.create(id=project.pk, title="JSON")
    dataset_version_run(version_id=created.id)
    tasks = json.loads(
        b"".join(ls.projects.exports.download(id=project.pk, export_pk=created.id, export_type="JSON"))
    )
    labeled = list(project.tasks.order_by("inner_id"))[:3]
    assert [task["id"] for task in tasks] == [task.pk for task in labeled]
    assert [task["annotations"][0]["result"][0]["value"]["choices"] for task in tasks] == [
        ["Positive"],
        ["Negative"],
        ["Positive"],
    ]
