"""Celery entry points for the training app: thin adapters that call services with a job row's id.

``prelabel_*`` tasks go to the ``prelabel`` queue (tessera/celery.py routes them by name); the
reaper and the refit sweep are short and run on the default queue.
"""

from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from training.services.prelabel_jobs import (
    prelabel_job_fail,
    prelabel_job_run,
    prelabel_jobs_reap,
    prelabel_refit_sweep,
)


@shared_task(
    bind=True,
    name="training.tasks.prelabel_run_job",
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def prelabel_run_job(self: Any, job_id: int) -> None:
    try:
        prelabel_job_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        limit = self.soft_time_limit or settings.TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS
        prelabel_job_fail(
            job_id=job_id,
            message=f"The job ran longer than its time limit ({limit} s) and was stopped; "
            "the predictions written so far are kept.",
            code="time_limit",
        )
    except Exception as exc:
        if self.request.retries >= self.max_retries or not isinstance(exc, (DatabaseError, OSError)):
            prelabel_job_fail(job_id=job_id, message=f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, (DatabaseError, OSError)):
                return
        raise


@shared_task(name="training.tasks.reap_prelabel_jobs", soft_time_limit=50, time_limit=60)
def reap_prelabel_jobs() -> dict:
    report = prelabel_jobs_reap()
    return {"requeued": report.requeued, "failed": report.failed, "cancelled": report.cancelled}


@shared_task(name="training.tasks.sweep_prelabel_refits", soft_time_limit=50, time_limit=60)
def sweep_prelabel_refits() -> dict:
    """Refit jobs for learning pre-labelers whose project gained prelabel_refit_every labels."""
    return {"refits": prelabel_refit_sweep().refits}
