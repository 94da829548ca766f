"""Celery entry points for the exports app: thin adapters that call services with a version row's id.

Dataset builds run on the ``default`` queue with the app's reliability settings (acks_late, reject on
worker lost); a second delivery of one build claims nothing while the first holds its lease.
"""

from typing import Any

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

from exports.dataset_services import dataset_version_fail, dataset_version_run, dataset_versions_reap


@shared_task(
    bind=True,
    name="exports.tasks.dataset_build",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def dataset_build(self: Any, version_id: int) -> None:
    try:
        dataset_version_run(version_id=version_id)
    except SoftTimeLimitExceeded:
        limit = self.soft_time_limit or settings.TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS
        dataset_version_fail(
            version_id=version_id,
            message=f"The dataset build ran longer than its time limit ({limit} s) and was stopped.",
            code="time_limit",
        )
    except Exception as exc:
        if self.request.retries >= self.max_retries or not isinstance(exc, (DatabaseError, OSError)):
            dataset_version_fail(version_id=version_id, message=f"{type(exc).__name__}: {exc}")
            if not isinstance(exc, (DatabaseError, OSError)):
                return
        raise


@shared_task(name="exports.tasks.reap_dataset_versions", soft_time_limit=50, time_limit=60)
def reap_dataset_versions() -> dict:
    report = dataset_versions_reap()
    return {"requeued": report.requeued, "failed": report.failed}
