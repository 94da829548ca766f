"""Background imports: store the upload, make a job row, let a worker claim it through a lease and run it."""

import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.importing.parsers import iter_items
from annotation.models import ImportJob, JobState, Project
from annotation.services.imports import tasks_import_streamed
from annotation.services.leases import Lease, LeaseLost, expired, requeue
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record

logger = logging.getLogger(__name__)


def import_path(job: ImportJob) -> Path:
    # The stored name is generated here, never taken from the client, so it cannot climb out of the folder.
    return Path(settings.TESSERA_IMPORT_DIR) / job.file_name


@transaction.atomic
def import_job_create(
    *,
    project: Project,
    user: User,
    chunks,
    file_format: str,
    original_name: str,
    column_map: dict[str, str] | None = None,
) -> ImportJob:
    directory = Path(settings.TESSERA_IMPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = f"{uuid.uuid4().hex}.{file_format}"
    size = 0
    with open(directory / stored_name, "wb") as handle:
        for chunk in chunks:
            size += len(chunk)
            handle.write(chunk)
    job = ImportJob.objects.create(
        project=project,
        created_by=user,
        file_name=stored_name,
        original_name=original_name[:255],
        file_format=file_format,
        column_map=column_map,
        size_bytes=size,
    )
    audit_record(actor=user, organization=project.organization_id, action="import_job.create", obj=job)
    from annotation.tasks import run_import_job

    def enqueue() -> None:
        try:
            run_import_job.delay(job.pk)
        except BrokerUnreachable as exc:
            # A row left as created would wait forever for a message that was never sent:
            # fail it and tell the client now, rather than answer {"import": id} or a 500.
            logger.error("Import job %s could not be queued: %s", job.pk, exc)
            _fail_unqueued(job)
            raise ApplicationError(
                _("The job queue is unreachable, so the import was not started; send it again later."),
                code="queue_unavailable",
                status=503,
            ) from exc

    transaction.on_commit(enqueue)
    return job


def _fail_unqueued(job: ImportJob) -> None:
    ImportJob.objects.filter(pk=job.pk, state=JobState.CREATED).update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        error={"code": "queue_unavailable", "message": "The job queue was unreachable.", "field": None},
    )
    import_path(job).unlink(missing_ok=True)


def import_job_run(*, job_id: int) -> None:
    """Claim the job through its lease and run it; a job someone else holds, or that is done, is left alone."""
    lease = Lease.claim(ImportJob, job_id)
    if lease is None:
        return
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    path = import_path(job)
    try:
        if not path.exists():
            # Nothing can bring the upload back: retrying would only fail again.
            raise ApplicationError(
                _("The stored upload is gone; send the import again."), field="file", code="upload_missing"
            )
        if job.created_by is None:
            # The account that sent the upload was deleted before the job ran (the foreign key is SET_NULL):
            # imported annotations without a completed_by would have no one to belong to.
            raise ApplicationError(
                _("The user who sent this import no longer exists; send it again."), code="creator_deleted"
            )
        creator = job.created_by

        def open_items():
            # Large reads, since the parsers take the upload a chunk at a time; closed once read through.
            with open(path, "rb", buffering=1 << 20) as stream:
                yield from iter_items(
                    stream,
                    job.file_format,
                    max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT,
                    column_map=job.column_map,
                )

        def progress(rows: int) -> None:
            ImportJob.objects.filter(pk=job_id, lease_owner=lease.owner).update(rows_done=rows)

        tasks_import_streamed(
            project=job.project, user=creator, open_items=open_items, import_job=job, lease=lease,
            progress=progress,
        )  # fmt: skip
    except ApplicationError as error:
        lease.fail({"code": error.code, "message": error.message, "field": error.field})
    except LeaseLost as lost:
        # The lease ran out (this worker stalled) and the job went to another worker or the reaper.
        logger.warning("Import job %s stopped: %s", job_id, lost)
    except (DatabaseError, OSError):
        # A transient fault: the task retries, and the retry may claim the job at once.
        with contextlib.suppress(DatabaseError):
            lease.release()
        raise
    finally:
        # No row left means the project was deleted meanwhile: nothing will read the upload again.
        state = ImportJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        if state in (None, JobState.COMPLETED, JobState.FAILED):
            path.unlink(missing_ok=True)


def import_job_fail(*, job_id: int, message: str, code: str = "server_error") -> None:
    """Mark a job failed after its retries ran out on an unexpected fault, and drop its upload."""
    failed = ImportJob.objects.filter(pk=job_id, state__in=[JobState.CREATED, JobState.IN_PROGRESS]).update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        lease_expires_at=None,
        error={"code": code, "message": message, "field": None},
    )
    job = ImportJob.objects.filter(pk=job_id).only("file_name").first()
    if failed and job is not None:
        import_path(job).unlink(missing_ok=True)


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    removed_uploads: list[str] = field(default_factory=list)


def import_jobs_reap() -> ReapReport:
    """Recover jobs whose worker stopped renewing its lease, and remove uploads no live job waits on.

    Run every TESSERA_JOB_REAP_INTERVAL_SECONDS by Celery beat, and once by ``manage.py
    tessera_reap_jobs``. A job whose lease ran out goes back to created and is queued again;
    after TESSERA_JOB_MAX_ATTEMPTS claims it fails, naming why. Each change is a conditional
    UPDATE on the same condition, so two reapers, or a worker renewing just in time, are safe.
    """
    report = ReapReport()
    now = timezone.now()
    with transaction.atomic():
        # Rows being written are locked by their owner (Lease.hold) until its commit: pass over them.
        candidates = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(expired(now))
            .order_by("pk")
            .values_list("pk", "attempts", "file_name")
        )
        for job_id, attempts, file_name in candidates:
            still_expired = ImportJob.objects.filter(expired(now), pk=job_id)
            if attempts >= settings.TESSERA_JOB_MAX_ATTEMPTS:
                message = (
                    f"The import was started {attempts} times and its worker stopped each time before "
                    "finishing (killed, out of memory, or restarted); it was given up."
                )
                if still_expired.update(
                    state=JobState.FAILED,
                    finished_at=now,
                    lease_expires_at=None,
                    error={"code": "worker_lost", "message": message, "field": None},
                ):
                    report.failed.append(job_id)
                    upload = Path(settings.TESSERA_IMPORT_DIR) / file_name
                    transaction.on_commit(partial(upload.unlink, missing_ok=True))
            elif still_expired.update(state=JobState.CREATED, lease_owner="", lease_expires_at=None):
                report.requeued.append(job_id)
                transaction.on_commit(partial(_requeue, job_id))
    report.removed_uploads = _remove_orphaned_uploads(now=time.time())
    for job_id in report.requeued:
        logger.warning("Import job %s lost its worker; queued again.", job_id)
    for job_id in report.failed:
        logger.error("Import job %s lost its worker too many times; failed.", job_id)
    return report


def _requeue(job_id: int) -> None:
    from annotation.tasks import run_import_job

    requeue(ImportJob, job_id, run_import_job.delay, what="Import job")


def _remove_orphaned_uploads(*, now: float) -> list[str]:
    """Uploads older than TESSERA_ORPHAN_UPLOAD_SECONDS that no created or in_progress job names.

    The age keeps a file whose job row is not committed yet (import_job_create writes the file
    first) out of reach.
    """
    directory = Path(settings.TESSERA_IMPORT_DIR)
    if not directory.is_dir():
        return []
    cutoff = now - settings.TESSERA_ORPHAN_UPLOAD_SECONDS
    old = {}
    for entry in directory.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file() and entry.stat().st_mtime <= cutoff:
                old[entry.name] = entry
    removed = []
    for start in range(0, len(old), 1000):
        names = list(old)[start : start + 1000]
        live = set(
            ImportJob.objects.filter(
                file_name__in=names, state__in=[JobState.CREATED, JobState.IN_PROGRESS]
            ).values_list("file_name", flat=True)
        )
        for name in names:
            if name not in live:
                old[name].unlink(missing_ok=True)
                removed.append(name)
    return removed
