"""The demo's set-up: a real worker on kombu's file-system broker, with beat running the reaper.

Runs on either database (SQLite's test database is a file the worker opens too). The
file-system transport never hands back a message whose worker died: before leases, such a
job stayed in_progress forever with its upload on disk. Now its lease runs out and the
reaper queues it again.
"""

import json

import pytest
from django.db import connection

from annotation.models import ImportJob, JobState, Task
from annotation.services.import_jobs import import_path
from annotation.services.imports import PROGRESS_EVERY_ROWS
from tests.conftest import post_json
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_SECONDS = 120
# Short, so that a lost worker's job comes back within seconds.
FAST_REAPER = {"TESSERA_JOB_LEASE_SECONDS": "3", "TESSERA_JOB_REAP_INTERVAL_SECONDS": "1"}


def _tasks(count: int) -> list[dict]:
    return [
        {"data": {"text": f"Headline number {i}: the market moved."}, "meta": {"n": i}} for i in range(count)
    ]


def _finished(job_id: int):
    def check():
        job = ImportJob.objects.filter(pk=job_id).first()
        return job if job is not None and job.state in (JobState.COMPLETED, JobState.FAILED) else None

    return check


def test_import_runs_on_a_worker_on_the_file_broker(start_file_broker_worker, api, make_project, settings):
    project = make_project()
    worker = start_file_broker_worker(beat=True, env=FAST_REAPER)
    tasks = _tasks(3000)
    assert len(json.dumps(tasks)) > settings.TESSERA_SYNC_IMPORT_MAX_BYTES

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)

    assert response.status_code == 201, response.content
    job = wait_for(_finished(response.json()["import"]), timeout=JOB_TIMEOUT_SECONDS, what="the import",
                   worker=worker)  # fmt: skip
    assert (job.state, job.task_count, job.attempts, job.error) == (JobState.COMPLETED, 3000, 1, None)
    rows = list(Task.objects.filter(project=project).order_by("inner_id").values_list("inner_id", "data"))
    assert rows == [(i + 1, task["data"]) for i, task in enumerate(tasks)]
    wait_for(lambda: not import_path(job).exists(), timeout=10, what="the upload to go", worker=worker)
    # Beat ran the reaper next to the job, and the reaper left the job (its lease was live) alone.
    wait_for(lambda: "annotation.tasks.reap_import_jobs" in worker.log(), timeout=30, what="the reaper",
             worker=worker)  # fmt: skip
    assert "queued again" not in worker.log()


def test_job_of_a_worker_killed_mid_job_is_reaped_and_completed_by_the_next_worker(
    start_file_broker_worker, api, make_project
):
    project = make_project()
    first = start_file_broker_worker(beat=True, env=FAST_REAPER)
    count = 6 * PROGRESS_EVERY_ROWS

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", _tasks(count))
    job_id = response.json()["import"]

    def checking_rows():
        job = ImportJob.objects.get(pk=job_id)
        assert job.state != JobState.COMPLETED, "the job finished before the kill: make the import larger"
        return job.state == JobState.IN_PROGRESS and job.rows_done > 0

    wait_for(checking_rows, timeout=JOB_TIMEOUT_SECONDS, what="the job to be mid-way", worker=first)
    # The whole worker goes (main process, pool child and beat), as when the demo's machine stops.
    first.kill()
    job = ImportJob.objects.get(pk=job_id)
    assert (job.state, job.attempts) == (JobState.IN_PROGRESS, 1)
    assert import_path(job).exists()
    assert not Task.objects.filter(project=project).exists()

    second = start_file_broker_worker(beat=True, env=FAST_REAPER)

    job = wait_for(_finished(job_id), timeout=JOB_TIMEOUT_SECONDS, what="the reaped import", worker=second)
    assert (job.state, job.attempts, job.task_count) == (JobState.COMPLETED, 2, count), job.error
    assert f"Import job {job_id} lost its worker; queued again." in second.log()
    # The worker drops the upload just after the commit.
    wait_for(lambda: not import_path(job).exists(), timeout=10, what="the upload to go", worker=second)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT COUNT(*), COUNT(DISTINCT inner_id), MIN(inner_id), MAX(inner_id) FROM "{Task._meta.db_table}" '
            "WHERE project_id = %s",
            [project.pk],
        )
        assert cursor.fetchone() == (count, count, 1, count)
    project.refresh_from_db()
    assert (project.task_count, project.task_counter) == (count, count)


def test_a_job_past_its_soft_time_limit_fails_clearly_and_writes_nothing(
    start_file_broker_worker, api, make_project
):
    project = make_project()
    worker = start_file_broker_worker(env={"TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS": "1",
                                           "TESSERA_JOB_TIME_LIMIT_SECONDS": "30"})  # fmt: skip
    count = 6 * PROGRESS_EVERY_ROWS

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", _tasks(count))

    job = wait_for(_finished(response.json()["import"]), timeout=JOB_TIMEOUT_SECONDS, what="the import",
                   worker=worker)  # fmt: skip
    assert job.state == JobState.FAILED and job.error["code"] == "time_limit", job.error
    assert "time limit (1 s)" in job.error["message"]
    assert not Task.objects.filter(project=project).exists()
    project.refresh_from_db()
    # The job may have reserved its inner_id range before the limit struck: a gap, which task pages
    # allow for, and no task counted.
    assert project.task_count == 0 and project.task_counter in (0, count)
    wait_for(lambda: not import_path(job).exists(), timeout=10, what="the upload to go", worker=worker)
