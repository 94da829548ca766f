"""Background imports on a real Celery worker (Redis broker, the test's database).

An import larger than TESSERA_SYNC_IMPORT_MAX_BYTES becomes an ImportJob row; the
API answers {"import": id} and a worker claims the row and runs it. These tests
post through the API, let a real worker process run the job, and read the rows.
"""

import json
import os
import signal

import pytest
from django.db import connection

from annotation.models import ImportJob, JobState, Task
from annotation.services.imports import PROGRESS_EVERY_ROWS
from tests.conftest import post_json
from tests.integration.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_SECONDS = 90
TASKS_TO_KILL = 6 * PROGRESS_EVERY_ROWS


def _tasks(count: int) -> list[dict]:
    return [
        {"data": {"text": f"Headline number {i}: the market moved."}, "meta": {"n": i}} for i in range(count)
    ]


def _job_state(project_id: int, job_id: int, api) -> dict:
    response = api.get(f"/api/projects/{project_id}/imports/{job_id}/")
    assert response.status_code == 200, response.content
    return response.json()


def _finished(project_id: int, job_id: int, api):
    def check():
        body = _job_state(project_id, job_id, api)
        return body if body["status"] in (JobState.COMPLETED, JobState.FAILED) else None

    return check


def test_large_import_runs_as_a_job_on_a_real_worker(start_worker, api, make_project, settings):
    project = make_project()
    worker = start_worker()
    tasks = _tasks(3000)
    body = json.dumps(tasks)
    assert len(body) > settings.TESSERA_SYNC_IMPORT_MAX_BYTES

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)

    assert response.status_code == 201, response.content
    job_id = response.json()["import"]
    assert ImportJob.objects.filter(pk=job_id, project=project).exists()
    done = wait_for(_finished(project.pk, job_id, api("manager")), timeout=JOB_TIMEOUT_SECONDS, what="the import",
                    worker=worker)  # fmt: skip
    assert done["status"] == "completed", done
    assert (done["task_count"], done["error"], done["attempts"]) == (3000, None, 1)
    rows = list(
        Task.objects.filter(project=project).order_by("inner_id").values_list("inner_id", "data", "meta")
    )
    assert rows == [(i + 1, task["data"], task["meta"]) for i, task in enumerate(tasks)]
    project.refresh_from_db()
    assert (project.task_count, project.task_counter) == (3000, 3000)
    assert "annotation.tasks.run_import_job" in worker.log()


def test_background_import_with_a_bad_row_fails_naming_it_and_writes_nothing(start_worker, api, make_project):
    project = make_project()
    worker = start_worker()
    tasks = _tasks(2000)
    tasks[1234] = {"data": {"headline": "no text here"}}

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)

    assert response.status_code == 201, response.content
    job_id = response.json()["import"]
    done = wait_for(_finished(project.pk, job_id, api("manager")), timeout=JOB_TIMEOUT_SECONDS, what="the import",
                    worker=worker)  # fmt: skip
    assert done["status"] == "failed", done
    assert done["error_detail"]["field"] == "tasks[1234].data.text"
    assert done["error"].startswith("tasks[1234].data.text: ")
    assert done["task_count"] == 0
    assert not Task.objects.filter(project=project).exists()
    project.refresh_from_db()
    assert (project.task_count, project.task_counter) == (0, 0)


def test_job_left_in_progress_by_a_lost_worker_is_claimed_and_completed_by_a_new_one(
    start_worker, api, make_project
):
    project = make_project()
    tasks = _tasks(500)
    # No worker yet: the job waits on the queue as it would after its worker died.
    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)
    job_id = response.json()["import"]
    # What a worker that claimed the job and then died leaves behind.
    ImportJob.objects.filter(pk=job_id).update(state=JobState.IN_PROGRESS, attempts=1)

    worker = start_worker()

    done = wait_for(_finished(project.pk, job_id, api("manager")), timeout=JOB_TIMEOUT_SECONDS, what="the import",
                    worker=worker)  # fmt: skip
    assert (done["status"], done["attempts"], done["task_count"]) == ("completed", 2, 500)
    assert Task.objects.filter(project=project).count() == 500


def test_worker_killed_mid_job_gets_the_job_back_and_writes_the_tasks_once(start_worker, api, make_project):
    project = make_project()
    # Short lease and reaper interval, so that the lost job comes back within seconds.
    worker = start_worker(
        beat=True, env={"TESSERA_JOB_LEASE_SECONDS": "3", "TESSERA_JOB_REAP_INTERVAL_SECONDS": "1"}
    )
    # Large enough that checking the rows takes a while after the first progress report,
    # so the kill lands before anything is written.
    tasks = _tasks(TASKS_TO_KILL)

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)
    job_id = response.json()["import"]

    def checking_rows():
        job = ImportJob.objects.get(pk=job_id)
        assert job.state != JobState.COMPLETED, "the job finished before the kill: make the import larger"
        return job.state == JobState.IN_PROGRESS and job.rows_done > 0

    wait_for(checking_rows, timeout=JOB_TIMEOUT_SECONDS, what="the job to be mid-way", worker=worker)
    # The lease names the process running the job (host:pid:claim); beat is another child.
    running = int(ImportJob.objects.get(pk=job_id).lease_owner.split(":")[1])
    assert running in worker.pool_children(), (running, worker.pool_children())
    # SIGKILL the pool process running the job: with acks_late and task_reject_on_worker_lost
    # the worker puts the message back at once, but the dead process's lease is still live,
    # so that delivery does nothing; once the lease has run out the reaper queues the job again.
    os.kill(running, signal.SIGKILL)

    done = wait_for(_finished(project.pk, job_id, api("manager")), timeout=JOB_TIMEOUT_SECONDS,
                    what="the re-delivered import", worker=worker)  # fmt: skip
    assert (done["status"], done["attempts"], done["task_count"]) == ("completed", 2, TASKS_TO_KILL), done
    assert Task.objects.filter(project=project).count() == TASKS_TO_KILL
    log = worker.log()
    assert "WorkerLostError" in log, log
    assert f"Import job {job_id} lost its worker; queued again." in log, log
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT COUNT(DISTINCT inner_id), MIN(inner_id), MAX(inner_id) FROM "{Task._meta.db_table}" '
            "WHERE project_id = %s",
            [project.pk],
        )
        assert cursor.fetchone() == (TASKS_TO_KILL, 1, TASKS_TO_KILL)
