"""Import jobs are safe to run twice: a second delivery of the same message writes nothing more.

These call the service the Celery task calls (``import_job_run``), in this process,
on whichever database the suite runs on; the worker tests run the same path
through a real worker.
"""

import json
import threading

import pytest
from django.db import connection, connections

from annotation.models import ImportJob, JobState, Task
from annotation.services.import_jobs import import_job_create, import_job_fail, import_job_run, import_path
from annotation.services.projects import project_delete
from tests.conftest import post_json
from tests.integration.conftest import publishing_to


def _job(project, user, count: int) -> ImportJob:
    body = json.dumps([{"text": f"Headline {i}"} for i in range(count)]).encode()
    return import_job_create(
        project=project, user=user, chunks=[body], file_format="json", original_name="headlines.json"
    )


@pytest.mark.django_db
def test_running_a_job_twice_writes_its_tasks_once(make_project, cast):
    project = make_project()
    job = _job(project, cast.users["manager"], 250)

    import_job_run(job_id=job.pk)
    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.task_count, job.attempts) == (JobState.COMPLETED, 250, 1)
    assert Task.objects.filter(project=project).count() == 250
    project.refresh_from_db()
    assert (project.task_count, project.task_counter) == (250, 250)
    assert not import_path(job).exists()


@pytest.mark.django_db
def test_job_found_in_progress_is_claimed_again_and_completed(make_project, cast):
    project = make_project()
    job = _job(project, cast.users["manager"], 40)
    # A worker claimed it and died before writing anything.
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.IN_PROGRESS, attempts=1)

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.task_count, job.attempts) == (JobState.COMPLETED, 40, 2)
    assert Task.objects.filter(project=project).count() == 40


@pytest.mark.django_db
@pytest.mark.parametrize("final_state", [JobState.FAILED, JobState.CANCELLED])
def test_a_finished_job_is_not_run_again(make_project, cast, final_state):
    project = make_project()
    job = _job(project, cast.users["manager"], 10)
    ImportJob.objects.filter(pk=job.pk).update(state=final_state)

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.attempts) == (final_state, 0)
    assert not Task.objects.filter(project=project).exists()


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_running_at_once_write_the_tasks_once(make_project, cast):
    """Redis re-delivers a message whose worker outlives the visibility timeout: two runs overlap."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises the two runs, so they never overlap")
    project = make_project()
    # The job's own message goes to an in-memory broker and is dropped: the test plays both deliveries.
    with publishing_to("memory://"):
        job = _job(project, cast.users["manager"], 20_000)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait(timeout=10)
            import_job_run(job_id=job.pk)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread below
            errors.append(exc)
        finally:
            connections.close_all()

    runs = [threading.Thread(target=deliver) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=120)
    assert not errors, errors
    job.refresh_from_db()
    assert job.state == JobState.COMPLETED and job.task_count == 20_000
    # The second delivery found the first one's live lease and did nothing.
    assert job.attempts == 1
    assert Task.objects.filter(project=project).count() == 20_000
    project.refresh_from_db()
    assert (project.task_count, project.task_counter) == (20_000, 20_000)


@pytest.mark.django_db
def test_deleting_a_project_removes_the_uploads_its_jobs_were_waiting_on(
    make_project, cast, django_capture_on_commit_callbacks
):
    project = make_project()
    job = _job(project, cast.users["manager"], 10)
    upload = import_path(job)
    assert upload.exists()

    with django_capture_on_commit_callbacks(execute=True):
        project_delete(project=project, user=cast.users["manager"])

    assert not upload.exists()
    # The job's message may still arrive: with no row left it does nothing.
    import_job_run(job_id=job.pk)
    assert not ImportJob.objects.filter(pk=job.pk).exists()


@pytest.mark.django_db
def test_a_job_failed_by_an_unexpected_fault_drops_its_upload(make_project, cast):
    project = make_project()
    job = _job(project, cast.users["manager"], 10)
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.IN_PROGRESS, attempts=1)

    import_job_fail(job_id=job.pk, message="OperationalError: server closed the connection")

    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error["code"] == "server_error"
    assert not import_path(job).exists()
    assert not Task.objects.filter(project=project).exists()


@pytest.mark.django_db(transaction=True)
def test_import_when_the_queue_is_unreachable_answers_503_and_leaves_no_waiting_job(
    api, make_project, settings
):
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    project = make_project()
    # Nothing listens on this port: publishing the job's message fails.
    with publishing_to("redis://127.0.0.1:9/0"):
        response = post_json(api("manager"), f"/api/projects/{project.pk}/import", [{"text": "Nickel rose."}])

    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "queue_unavailable"
    job = ImportJob.objects.get(project=project)
    # Failed, not stuck as created with no message that would ever run it.
    assert job.state == JobState.FAILED and job.error["code"] == "queue_unavailable"
    assert not import_path(job).exists()
    assert not Task.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_job_whose_sender_was_deleted_fails_with_a_clear_error(make_project, cast):
    project = make_project()
    job = _job(project, cast.users["manager"], 5)
    # The foreign key is SET_NULL: deleting the account leaves the job without its sender.
    ImportJob.objects.filter(pk=job.pk).update(created_by=None)

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.error["code"]) == (JobState.FAILED, "creator_deleted")
    assert not Task.objects.filter(project=project).exists()
    assert not import_path(job).exists()
