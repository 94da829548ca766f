"""Background imports: store the upload, make a job row, let a worker claim and run it."""

import logging
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.importing.parsers import parse_items
from annotation.models import ImportJob, JobState, Project
from annotation.services.imports import tasks_import
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record

logger = logging.getLogger(__name__)


def import_path(job: ImportJob) -> Path:
    # The stored name is generated here, never taken from the client, so it cannot climb out of the folder.
    return Path(settings.TESSERA_IMPORT_DIR) / job.file_name


@transaction.atomic
def import_job_create(*, project: Project, user: User, chunks, file_format: str, original_name: str) -> ImportJob:
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
                "The job queue is unreachable, so the import was not started; send it again later.",
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


def _claim(job_id: int) -> bool:
    """Atomically move a job to in_progress. A job re-delivered after a lost worker is claimed again."""
    return bool(
        ImportJob.objects.filter(pk=job_id, state__in=[JobState.CREATED, JobState.IN_PROGRESS]).update(
            state=JobState.IN_PROGRESS, attempts=F("attempts") + 1, started_at=timezone.now()
        )
    )


def import_job_run(*, job_id: int) -> None:
    if not _claim(job_id):
        return
    job = ImportJob.objects.select_related("project", "created_by").get(pk=job_id)
    path = import_path(job)
    try:
        items = parse_items(
            path.read_bytes(), job.file_format, max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT
        )

        def progress(rows: int) -> None:
            ImportJob.objects.filter(pk=job_id).update(rows_done=rows)

        tasks_import(project=job.project, user=job.created_by, items=items, import_job=job, progress=progress)
    except ApplicationError as error:
        ImportJob.objects.filter(pk=job_id).update(
            state=JobState.FAILED,
            finished_at=timezone.now(),
            error={"code": error.code, "message": error.message, "field": error.field},
        )
    finally:
        # No row left means the project was deleted meanwhile: nothing will read the upload again.
        state = ImportJob.objects.filter(pk=job_id).values_list("state", flat=True).first()
        if state in (None, JobState.COMPLETED, JobState.FAILED):
            path.unlink(missing_ok=True)


def import_job_fail(*, job_id: int, message: str) -> None:
    """Mark a job failed after its retries ran out on an unexpected fault, and drop its upload."""
    failed = ImportJob.objects.filter(pk=job_id, state__in=[JobState.CREATED, JobState.IN_PROGRESS]).update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        error={"code": "server_error", "message": message, "field": None},
    )
    job = ImportJob.objects.filter(pk=job_id).only("file_name").first()
    if failed and job is not None:
        import_path(job).unlink(missing_ok=True)
