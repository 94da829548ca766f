"""Dataset versions built by a real Celery worker (Redis broker, the test's database), and rebuilt after
the worker running one is killed, ending with the same bytes as a clean build."""

import os
import signal

import pytest

from annotation.models import JobState
from exports.datasets import storage
from exports.models import DatasetVersion
from tests.conftest import choice, post_json
from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats here too
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BUILD_TIMEOUT_SECONDS = 120
FORMATS_MODULE = "tests.exports.dataset_test_formats"
RECIPE = {
    "formats": ["test_jsonl", "test_whole"],
    "splits": {"train": 0.8, "test": 0.2},
    "stratify": True,
    "seed": 5,
}


@pytest.fixture
def datasets_dir(settings, tmp_path):
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    return settings.TESSERA_DATASETS_DIR


@pytest.fixture
def project(make_project):
    tasks = [
        {
            "data": {"text": f"Headline {i}"},
            "annotations": [{"result": choice(("Positive", "Negative")[i % 3 == 0])}],
        }
        for i in range(200)
    ]
    return make_project(tasks=tasks)


def _finished(version_id: int, api):
    def check():
        body = api.get(f"/api/datasets/{version_id}/").json()
        return body if body["status"] in (JobState.COMPLETED, JobState.FAILED) else None

    return check


def _data_files(body: dict) -> list[tuple]:
    # The card names the version's parent, so two versions' cards differ; every other file must not.
    return [(f["format"], f["split"], f["sha256"]) for f in body["files"] if f["format"] != "card"]


def test_a_worker_builds_a_version_end_to_end(start_worker, api, project, datasets_dir):
    worker = start_worker(env={"TESSERA_DATASETS_DIR": str(datasets_dir)}, include=FORMATS_MODULE)
    response = post_json(api("manager"), f"/api/projects/{project.pk}/datasets/", RECIPE)
    assert response.status_code == 201, response.content
    version_id = response.json()["id"]

    done = wait_for(_finished(version_id, api("reviewer")), timeout=BUILD_TIMEOUT_SECONDS, what="the build",
                    worker=worker)  # fmt: skip

    assert done["status"] == "completed", done
    assert done["counts"]["splits"] == {"train": 160, "test": 40}
    assert done["progress"] == {"done": 200, "total": 200}
    download = api("reviewer").get(f"/api/datasets/{version_id}/download?format=test_jsonl&split=test")
    assert download.status_code == 200
    assert len(b"".join(download.streaming_content).splitlines()) == 40


def test_a_worker_killed_mid_build_gets_the_build_back_and_ends_with_a_clean_runs_bytes(
    start_worker, api, project, datasets_dir
):
    env = {
        "TESSERA_DATASETS_DIR": str(datasets_dir),
        "TESSERA_JOB_LEASE_SECONDS": "3",
        "TESSERA_JOB_REAP_INTERVAL_SECONDS": "1",
        "TESSERA_DATASET_PROGRESS_EVERY": "10",
    }
    worker = start_worker(beat=True, env=env, include=FORMATS_MODULE)
    recipe = {**RECIPE, "formats": ["test_slow", "test_whole"]}
    clean_id = post_json(api("manager"), f"/api/projects/{project.pk}/datasets/", recipe).json()["id"]
    clean = wait_for(_finished(clean_id, api("reviewer")), timeout=BUILD_TIMEOUT_SECONDS, what="the clean build",
                     worker=worker)  # fmt: skip
    assert clean["status"] == "completed", clean

    version_id = post_json(api("manager"), f"/api/projects/{project.pk}/datasets/", recipe).json()["id"]
    folder = storage.version_dir(project_id=project.pk, version_id=version_id)

    def writing():
        version = DatasetVersion.objects.get(pk=version_id)
        assert version.state != JobState.COMPLETED, "the build finished before the kill: make it slower"
        # Mid-way: the items are spooled and the slow writer has started its first file.
        return (
            version.state == JobState.IN_PROGRESS
            and folder.exists()
            and any(path.name.endswith(".partial") for path in folder.iterdir())
        )

    wait_for(writing, timeout=BUILD_TIMEOUT_SECONDS, what="the build to be mid-way", worker=worker)
    running = int(DatasetVersion.objects.get(pk=version_id).lease_owner.split(":")[1])
    assert running in worker.pool_children(), (running, worker.pool_children())
    os.kill(running, signal.SIGKILL)

    done = wait_for(_finished(version_id, api("reviewer")), timeout=BUILD_TIMEOUT_SECONDS,
                    what="the rebuilt version", worker=worker)  # fmt: skip
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    assert _data_files(done) == _data_files(clean)
    assert f"Dataset version {version_id} lost its worker; queued again." in worker.log()
    # Nothing of the killed run is left beside the version's files.
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        storage.resolve(f["path"]).name for f in DatasetVersion.objects.get(pk=version_id).files
    )


def test_a_worker_builds_a_version_in_parts_with_a_one_process_builds_bytes(
    start_worker, api, project, datasets_dir, settings, cast
):
    """A Celery pool process is daemonic, where multiprocessing refuses to start children: the build's
    parts are forked all the same, and their files are those of a build in one process."""
    from exports.dataset_services import dataset_version_create, dataset_version_run

    env = {
        "TESSERA_DATASETS_DIR": str(datasets_dir),
        "TESSERA_DATASET_BUILD_PROCESSES": "2",
        "TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS": "1",
    }
    worker = start_worker(env=env, include=FORMATS_MODULE)
    recipe = {**RECIPE, "formats": ["jsonl", "parquet", "test_whole"]}
    response = post_json(api("manager"), f"/api/projects/{project.pk}/datasets/", recipe)
    assert response.status_code == 201, response.content
    parted = wait_for(_finished(response.json()["id"], api("reviewer")), timeout=BUILD_TIMEOUT_SECONDS,
                      what="the build in parts", worker=worker)  # fmt: skip
    assert parted["status"] == "completed", parted

    settings.TESSERA_DATASET_BUILD_PROCESSES = 1
    alone = dataset_version_create(project=project, user=cast.users["manager"], body=recipe)
    dataset_version_run(version_id=alone.pk)
    alone_body = api("reviewer").get(f"/api/datasets/{alone.pk}/").json()
    assert alone_body["status"] == "completed", alone_body
    assert _data_files(parted) == _data_files(alone_body)
    assert {f["format"] for f in parted["files"]} >= {"jsonl", "parquet", "manifest"}
