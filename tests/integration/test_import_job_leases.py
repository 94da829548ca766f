"""Import jobs are owned through a lease in their row; the reaper recovers jobs whose worker stopped.

These call the services in this process, on whichever database the suite runs on; the
worker tests (test_file_broker_worker.py, test_import_worker.py) run the same paths
through real workers.
"""

import json
import os
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from annotation.importing.parsers import iter_items
from annotation.models import ImportJob, JobState, Task
from annotation.services.import_jobs import import_job_create, import_job_run, import_jobs_reap, import_path
from annotation.services.imports import PROGRESS_EVERY_ROWS, tasks_import_streamed
from annotation.services.leases import Lease, LeaseLost
from tests.integration.conftest import publishing_to

pytestmark = pytest.mark.django_db


def _job(project, user, count: int) -> ImportJob:
    body = json.dumps([{"text": f"Headline {i}"} for i in range(count)]).encode()
    # Messages go to an in-memory broker and are dropped: the tests play the deliveries.
    with publishing_to("memory://"):
        return import_job_create(
            project=project, user=user, chunks=[body], file_format="json", original_name="headlines.json"
        )


def _expire(job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_a_claim_takes_a_lease_with_an_owner_and_an_expiry(make_project, cast, settings):
    settings.TESSERA_JOB_LEASE_SECONDS = 90
    job = _job(make_project(), cast.users["manager"], 3)

    lease = Lease.claim(ImportJob, job.pk)

    job.refresh_from_db()
    assert lease is not None and job.lease_owner == lease.owner and str(os.getpid()) in lease.owner
    assert (job.state, job.attempts) == (JobState.IN_PROGRESS, 1)
    assert timedelta(seconds=85) < job.lease_expires_at - timezone.now() <= timedelta(seconds=90)
    # A second claim while the lease runs gets nothing.
    assert Lease.claim(ImportJob, job.pk) is None


def test_a_heartbeat_pushes_the_lease_forward(make_project, cast, settings):
    settings.TESSERA_JOB_LEASE_SECONDS = 60
    job = _job(make_project(), cast.users["manager"], 3)
    lease = Lease.claim(ImportJob, job.pk)
    ImportJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=5))

    lease.renew(force=True)

    job.refresh_from_db()
    assert job.lease_expires_at - timezone.now() > timedelta(seconds=55)
    assert timezone.now() - job.heartbeat_at < timedelta(seconds=5)


def test_a_second_delivery_while_the_lease_is_live_does_nothing(make_project, cast):
    project = make_project()
    job = _job(project, cast.users["manager"], 30)
    # A worker holds the job and is busy with it.
    Lease.claim(ImportJob, job.pk)

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.IN_PROGRESS, 1)
    assert not Task.objects.filter(project=project).exists()
    assert import_path(job).exists()


def test_a_worker_whose_lease_was_taken_over_writes_nothing(make_project, cast):
    project = make_project()
    job = _job(project, cast.users["manager"], 30)
    stalled = Lease.claim(ImportJob, job.pk)
    _expire(job)

    # Another delivery claims the expired job and completes it.
    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.attempts, job.task_count) == (JobState.COMPLETED, 2, 30)
    # The stalled worker wakes up: every write it would make names it, and finds the job gone.
    with pytest.raises(LeaseLost):
        stalled.renew(force=True)
    with pytest.raises(LeaseLost), transaction.atomic():
        stalled.hold()
    assert not stalled.fail({"code": "x", "message": "x", "field": None})
    job.refresh_from_db()
    assert job.state == JobState.COMPLETED and Task.objects.filter(project=project).count() == 30


def test_an_import_that_loses_its_lease_while_checking_rows_writes_nothing(make_project, cast):
    project = make_project()
    count = PROGRESS_EVERY_ROWS + 10
    job = _job(project, cast.users["manager"], count)
    lease = Lease.claim(ImportJob, job.pk)

    def taken_over(rows: int) -> None:
        # Mid-way through the checks the lease runs out and another worker claims the job.
        _expire(job)
        assert Lease.claim(ImportJob, job.pk) is not None

    def open_items():
        with open(import_path(job), "rb") as stream:
            yield from iter_items(stream, "json", max_tasks=count)

    with pytest.raises(LeaseLost):
        tasks_import_streamed(
            project=project, user=cast.users["manager"], open_items=open_items, import_job=job, lease=lease,
            progress=taken_over,
        )  # fmt: skip

    assert not Task.objects.filter(project=project).exists()
    project.refresh_from_db()
    assert (project.task_count, project.task_counter) == (0, 0)
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.IN_PROGRESS, 2)


def test_reaper_requeues_a_job_whose_lease_ran_out(make_project, cast, django_capture_on_commit_callbacks):
    project = make_project()
    job = _job(project, cast.users["manager"], 25)
    Lease.claim(ImportJob, job.pk)
    _expire(job)

    with publishing_to("memory://"), django_capture_on_commit_callbacks(execute=True) as callbacks:
        report = import_jobs_reap()

    assert report.requeued == [job.pk] and report.failed == [] and len(callbacks) == 1
    job.refresh_from_db()
    assert (job.state, job.lease_owner, job.lease_expires_at, job.attempts) == (JobState.CREATED, "", None, 1)
    assert import_path(job).exists()
    # The queued message runs it.
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.attempts, job.task_count) == (JobState.COMPLETED, 2, 25)


def test_reaper_requeues_a_job_claimed_before_leases_existed(make_project, cast):
    """A row left in_progress by a worker of the previous release has no lease at all."""
    job = _job(make_project(), cast.users["manager"], 5)
    ImportJob.objects.filter(pk=job.pk).update(state=JobState.IN_PROGRESS, attempts=1)

    with publishing_to("memory://"):
        report = import_jobs_reap()

    assert report.requeued == [job.pk]


def test_reaper_fails_a_job_whose_worker_was_lost_too_often(
    make_project, cast, settings, django_capture_on_commit_callbacks
):
    settings.TESSERA_JOB_MAX_ATTEMPTS = 3
    project = make_project()
    job = _job(project, cast.users["manager"], 5)
    ImportJob.objects.filter(pk=job.pk).update(attempts=2)
    Lease.claim(ImportJob, job.pk)
    _expire(job)

    with django_capture_on_commit_callbacks(execute=True):
        report = import_jobs_reap()

    assert report.failed == [job.pk] and report.requeued == []
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error["code"] == "worker_lost"
    assert "started 3 times" in job.error["message"]
    assert not import_path(job).exists()
    # A late message for it claims nothing.
    import_job_run(job_id=job.pk)
    assert not Task.objects.filter(project=project).exists()


def test_reaper_leaves_live_leases_and_finished_jobs_alone(make_project, cast):
    project = make_project()
    running = _job(project, cast.users["manager"], 5)
    Lease.claim(ImportJob, running.pk)
    done = _job(project, cast.users["manager"], 5)
    import_job_run(job_id=done.pk)
    waiting = _job(project, cast.users["manager"], 5)

    report = import_jobs_reap()

    assert (report.requeued, report.failed) == ([], [])
    states = dict(ImportJob.objects.values_list("pk", "state"))
    assert states == {
        running.pk: JobState.IN_PROGRESS,
        done.pk: JobState.COMPLETED,
        waiting.pk: JobState.CREATED,
    }


def test_reaper_removes_old_uploads_that_no_live_job_waits_on(make_project, cast, settings):
    settings.TESSERA_ORPHAN_UPLOAD_SECONDS = 600
    project = make_project()
    waiting = _job(project, cast.users["manager"], 5)
    failed = _job(project, cast.users["manager"], 5)
    ImportJob.objects.filter(pk=failed.pk).update(state=JobState.FAILED)
    directory = import_path(waiting).parent
    orphan = directory / "0123456789abcdef.json"
    orphan.write_text("[]")
    young_orphan = directory / "fedcba9876543210.json"
    young_orphan.write_text("[]")
    an_hour_ago = time.time() - 3600
    for path in (import_path(waiting), import_path(failed), orphan):
        os.utime(path, (an_hour_ago, an_hour_ago))

    report = import_jobs_reap()

    # The upload directory is shared by the whole run: older tests' leftovers, old enough, go too.
    removed = set(report.removed_uploads)
    assert {orphan.name, failed.file_name} <= removed
    assert import_path(waiting).name not in removed and young_orphan.name not in removed
    assert import_path(waiting).exists() and young_orphan.exists()
    assert not orphan.exists() and not import_path(failed).exists()


def test_reap_jobs_command_runs_the_reaper_once(make_project, cast, capsys):
    job = _job(make_project(), cast.users["manager"], 5)
    Lease.claim(ImportJob, job.pk)
    _expire(job)

    with publishing_to("memory://"):
        call_command("tessera_reap_jobs")

    assert f"requeued: 1 [{job.pk}]" in capsys.readouterr().out
    job.refresh_from_db()
    assert job.state == JobState.CREATED


def test_beat_runs_the_reaper_every_interval_and_tasks_have_time_limits(settings):
    from tessera.celery import app

    schedule = app.conf.beat_schedule["reap-import-jobs"]
    assert schedule["task"] == "annotation.tasks.reap_import_jobs"
    assert schedule["schedule"] == settings.TESSERA_JOB_REAP_INTERVAL_SECONDS
    assert 0 < app.conf.task_soft_time_limit < app.conf.task_time_limit
    reaper = app.tasks["annotation.tasks.reap_import_jobs"]
    assert 0 < reaper.soft_time_limit < reaper.time_limit <= settings.TESSERA_JOB_REAP_INTERVAL_SECONDS


def test_a_job_the_reaper_cannot_queue_again_is_tried_again_at_the_next_run(
    make_project, cast, django_capture_on_commit_callbacks
):
    job = _job(make_project(), cast.users["manager"], 5)
    Lease.claim(ImportJob, job.pk)
    _expire(job)

    # Nothing listens on this port: the broker is down.
    with publishing_to("redis://127.0.0.1:9/0"), django_capture_on_commit_callbacks(execute=True):
        first = import_jobs_reap()

    assert first.requeued == [job.pk]
    job.refresh_from_db()
    # Not left created with no message on any queue: the next run sees it again.
    assert job.state == JobState.IN_PROGRESS and job.lease_expires_at <= timezone.now()
    with publishing_to("memory://"), django_capture_on_commit_callbacks(execute=True):
        second = import_jobs_reap()
    assert second.requeued == [job.pk]
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.CREATED, 1)
