"""Celery entry points for the annotation app: thin adapters that call services with a job row's id."""

from celery import shared_task
from django.db import DatabaseError

from annotation.services.import_jobs import import_job_fail, import_job_run


@shared_task(
    bind=True,
    name="annotation.tasks.run_import_job",
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def run_import_job(self, job_id: int) -> None:
    try:
        import_job_run(job_id=job_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries or not isinstance(exc, (DatabaseError, OSError)):
            import_job_fail(job_id=job_id, message=f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, (DatabaseError, OSError)):
                return
        raise
