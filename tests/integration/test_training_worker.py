"""A training job launched through the API runs on a real Celery worker that takes the ``gpu`` queue
(Redis broker, the test's database): the runner subprocess trains, the metrics and events stream into
the database, and the model version is registered. A worker killed mid-run takes its runner with it;
the reaper (beat in a second worker) queues the job again and the second worker resumes it from the
checkpoint."""

from pathlib import Path

import pytest

from annotation.models import JobState
from tests.conftest import post_json
from tests.integration.conftest import wait_for
from tests.training.training_job_support import (
    built_version,
    labeled_project,
    launch_body,
    tiny_encoder_folder,
)
from training.models import ModelVersion, TrainingEvent, TrainingMetric
from training.services.base_models import base_model_create

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_SECONDS = 240


@pytest.fixture
def world(cast, make_project, settings, tmp_path):
    """Folders of the test's own, a labeled project's dataset version, and a tiny encoder base model."""
    settings.DATA_DIR = tmp_path / "data"
    settings.TESSERA_DATASETS_DIR = tmp_path / "data" / "datasets"
    settings.TESSERA_MODEL_ROOTS = [str(tmp_path / "data" / "models")]
    version = built_version(labeled_project(make_project, cast, count=30), cast.users["manager"])
    folder = tiny_encoder_folder(tmp_path / "data" / "models")
    model = base_model_create(organization=cast.org, user=None, name="tiny-bert", path=str(folder))
    env = {
        "TESSERA_DATA_DIR": str(settings.DATA_DIR),
        "TESSERA_DATASETS_DIR": str(settings.TESSERA_DATASETS_DIR),
        "TESSERA_TRAINING_HEARTBEAT_SECONDS": "1",
        "OMP_NUM_THREADS": "1",
    }
    return version, model, env


def _status(api, job_id: int, *states: str):
    def check():
        body = api("manager").get(f"/api/training-jobs/{job_id}/").json()
        return body if body["status"] in states else None

    return check


def test_a_gpu_worker_runs_a_training_job_end_to_end(start_worker, api, world, settings):
    version, model, env = world
    worker = start_worker(queues="gpu", env=env)
    response = post_json(api("manager"), "/api/training-jobs/", launch_body(version, model.pk))
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]

    body = wait_for(
        _status(api, job_id, "completed", "failed", "cancelled"),
        timeout=JOB_TIMEOUT_SECONDS,
        what="the training job",
        worker=worker,
    )
    assert body["status"] == JobState.COMPLETED, (body["error"], worker.log())
    assert body["step"] == body["max_steps"] == 6 and body["attempts"] == 1
    assert body["model_version"]["version"] == "v1"
    assert TrainingMetric.objects.filter(job_id=job_id, values__has_key="loss").count() == 6
    assert TrainingEvent.objects.filter(job_id=job_id, source="runner", kind="finished").exists()
    assert "training.tasks.train_run_job" in worker.log()
    version_row = ModelVersion.objects.get(job_id=job_id)
    assert (
        settings.DATA_DIR / "models" / "registry" / version_row.name / "v1" / "model.safetensors"
    ).is_file()
    metrics = api("manager").get(f"/api/training-jobs/{job_id}/metrics/").json()
    assert "loss" in metrics["names"] and len(metrics["metrics"]) >= 6


def test_a_killed_worker_takes_its_runner_along_and_the_job_resumes_on_another(
    start_worker, api, world, settings
):
    version, model, env = world
    fast = {**env, "TESSERA_TRAINING_LEASE_SECONDS": "3", "TESSERA_JOB_REAP_INTERVAL_SECONDS": "1"}
    first = start_worker(queues="gpu", env=fast)
    body = launch_body(version, model.pk, max_steps=150, save_steps=5)
    response = post_json(api("manager"), "/api/training-jobs/", body)
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    run_dir = Path(settings.DATA_DIR) / "training" / "jobs" / str(job_id)
    checkpoint = run_dir / "checkpoints" / "checkpoint-5" / "trainer_state.json"
    wait_for(checkpoint.is_file, timeout=JOB_TIMEOUT_SECONDS, what="the first checkpoint", worker=first)
    runner_pid = TrainingEvent.objects.get(job_id=job_id, kind="runner_started").details["pid"]

    first.kill()  # the machine died: no clean shutdown, no message handed back
    # The runner was in a process group of its own; the kernel killed it with its parent.
    wait_for(lambda: not Path(f"/proc/{runner_pid}").exists() or _zombie(runner_pid), timeout=10,
             what="the runner to die with its worker")  # fmt: skip

    second = start_worker(queues="gpu,default", env=fast, beat=True)
    done = wait_for(
        _status(api, job_id, "completed", "failed", "cancelled"),
        timeout=JOB_TIMEOUT_SECONDS,
        what="the job to finish on the second worker",
        worker=second,
    )
    assert done["status"] == JobState.COMPLETED, (done["error"], second.log())
    assert done["attempts"] == 2 and done["step"] == 150
    kinds = list(TrainingEvent.objects.filter(job_id=job_id).order_by("id").values_list("source", "kind"))
    assert ("worker", "lease_expired") in kinds and ("worker", "resumed") in kinds
    resumed = TrainingEvent.objects.get(job_id=job_id, source="runner", kind="resumed")
    assert "/checkpoints/checkpoint-" in resumed.details["checkpoint"]
    assert ModelVersion.objects.filter(job_id=job_id).count() == 1


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True
