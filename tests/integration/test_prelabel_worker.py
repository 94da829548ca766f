"""Pre-labeling jobs on a real Celery worker taking the ``prelabel`` queue (the demo's file-system
broker, either database): a span rules job end to end through the API, and a job whose worker is
killed mid-way, which the reaper queues again and the worker finishes with no duplicate and no
missing prediction."""

import os
import signal

import pytest
from django.db import connection

from annotation.models import JobState, Prediction, Project
from annotation.services.counters import counters_check
from tests.conftest import NER_CONFIG, post_json
from tests.integration.conftest import wait_for
from tests.training.conftest import ENTITY_RULES
from training.models import PrelabelJob

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_SECONDS = 120
FAST_REAPER = {"TESSERA_JOB_LEASE_SECONDS": "3", "TESSERA_JOB_REAP_INTERVAL_SECONDS": "1"}
QUEUES = "prelabel,default"


def _texts(count: int) -> list[dict]:
    return [{"text": f"Acme Corp paid Jane Smith ${i} million; トヨタ自動車 {i}."} for i in range(count)]


def _finished(job_id: int, api):
    def check():
        body = api.get(f"/api/prelabel-jobs/{job_id}/").json()
        return body if body["status"] in ("completed", "failed", "cancelled") else None

    return check


def _start_job(api, project) -> int:
    made = post_json(
        api, f"/api/projects/{project.pk}/prelabelers/", {"backend": "span_rules", "settings": ENTITY_RULES}
    )
    assert made.status_code == 201, made.content
    response = post_json(api, f"/api/prelabelers/{made.json()['id']}/jobs/", {"tasks": "all"})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _predictions_per_task(project) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT COUNT(*), COUNT(DISTINCT task_id) FROM "{Prediction._meta.db_table}" WHERE project_id = %s',
            [project.pk],
        )
        return cursor.fetchone()


def test_a_span_rules_job_runs_end_to_end_on_a_prelabel_worker(start_file_broker_worker, api, make_project):
    project = make_project(NER_CONFIG, tasks=_texts(300))
    worker = start_file_broker_worker(queues=QUEUES)

    job_id = _start_job(api("manager"), project)

    done = wait_for(
        _finished(job_id, api("manager")), timeout=JOB_TIMEOUT_SECONDS, what="the job", worker=worker
    )
    assert (done["status"], done["tasks_total"], done["tasks_done"], done["predictions_written"]) == (
        "completed", 300, 300, 300,
    ), done  # fmt: skip
    assert (done["attempts"], done["errors"], done["error"]) == (1, 0, None)
    assert _predictions_per_task(project) == (300, 300)
    labels = {
        r["value"]["text"]: r["value"]["labels"][0]
        for r in Prediction.objects.filter(project=project).first().result
    }
    assert labels["Acme Corp"] == "ORG" and labels["トヨタ自動車"] == "ORG" and labels["Jane Smith"] == "PER"
    assert Project.objects.get(pk=project.pk).prediction_total == 300
    assert counters_check().total == 0
    assert "training.tasks.prelabel_run_job" in worker.log()


def test_a_worker_killed_mid_job_leaves_a_job_that_finishes_with_each_prediction_once(
    start_file_broker_worker, api, make_project
):
    count = 2000
    project = make_project(NER_CONFIG, tasks=_texts(count))
    # One task a batch, so the job is many short transactions and the kill lands between or inside them.
    worker = start_file_broker_worker(
        beat=True, queues=QUEUES, env={**FAST_REAPER, "TESSERA_PRELABEL_BATCH_SIZE": "1"}
    )

    job_id = _start_job(api("manager"), project)

    def mid_way():
        job = PrelabelJob.objects.get(pk=job_id)
        assert job.state != JobState.COMPLETED, "the job finished before the kill: give it more tasks"
        return job.state == JobState.IN_PROGRESS and job.tasks_done > 0

    wait_for(mid_way, timeout=JOB_TIMEOUT_SECONDS, what="the job to be mid-way", worker=worker)
    running = int(PrelabelJob.objects.get(pk=job_id).lease_owner.split(":")[1])
    assert running in worker.pool_children(), (running, worker.pool_children())
    os.kill(running, signal.SIGKILL)

    done = wait_for(_finished(job_id, api("manager")), timeout=JOB_TIMEOUT_SECONDS, what="the re-run job",
                    worker=worker)  # fmt: skip
    assert (done["status"], done["attempts"], done["tasks_done"], done["predictions_written"]) == (
        "completed", 2, count, count,
    ), done  # fmt: skip
    assert _predictions_per_task(project) == (count, count)
    assert Project.objects.get(pk=project.pk).prediction_total == count
    assert counters_check().total == 0
    # The job came back either through the reaper ("queued again") or through the message the worker
    # handed back, claimed once the dead process's lease ran out: both resume after last_task_id.
    log = worker.log()
    assert "WorkerLostError" in log, log
