"""A training job launched through the API runs on a real Celery worker that takes the ``gpu`` queue
(Redis broker, the test's database): the runner subprocess trains, the metrics and events stream into
the database, and the model version is registered."""

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


def test_a_gpu_worker_runs_a_training_job_end_to_end(
    start_worker, api, cast, make_project, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    settings.TESSERA_DATASETS_DIR = tmp_path / "data" / "datasets"
    settings.TESSERA_MODEL_ROOTS = [str(tmp_path / "data" / "models")]
    version = built_version(labeled_project(make_project, cast, count=30), cast.users["manager"])
    folder = tiny_encoder_folder(tmp_path / "data" / "models")
    model = base_model_create(organization=cast.org, user=None, name="tiny-bert", path=str(folder))
    worker = start_worker(
        queues="gpu",
        env={
            "TESSERA_DATA_DIR": str(settings.DATA_DIR),
            "TESSERA_DATASETS_DIR": str(settings.TESSERA_DATASETS_DIR),
            "TESSERA_TRAINING_HEARTBEAT_SECONDS": "1",
            "OMP_NUM_THREADS": "1",
        },
    )
    response = post_json(api("manager"), "/api/training-jobs/", launch_body(version, model.pk))
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]

    def done():
        body = api("manager").get(f"/api/training-jobs/{job_id}/").json()
        return body if body["status"] in ("completed", "failed", "cancelled") else None

    body = wait_for(done, timeout=JOB_TIMEOUT_SECONDS, what="the training job", worker=worker)
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
