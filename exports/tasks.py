"""Celery entry points for the exports app: thin adapters that call services with a version row's id.

Dataset builds run on the ``default`` queue with the app's reliability settings (acks_late, reject on
worker lost); a second delivery of one build claims nothing while the first holds its lease.
"""

from functools import partial
from typing import Any

from celery import shared_task

from exports.dataset_services import dataset_version_fail, dataset_version_run, dataset_versions_reap
from tessera.job_tasks import JOB_RETRY_OPTIONS, job_task_run


@shared_task(
    bind=True,
    name="exports.tasks.dataset_build",
    acks_late=True,
    reject_on_worker_lost=True,
    **JOB_RETRY_OPTIONS,
)
def dataset_build(self: Any, version_id: int) -> None:
    job_task_run(
        self,
        run=partial(dataset_version_run, version_id=version_id),
        fail=partial(dataset_version_fail, version_id=version_id),
        time_limit_message="The dataset build ran longer than its time limit ({limit} s) and was stopped.",
    )


@shared_task(name="exports.tasks.reap_dataset_versions", soft_time_limit=50, time_limit=60)
def reap_dataset_versions() -> dict:
    report = dataset_versions_reap()
    return {"requeued": report.requeued, "failed": report.failed}
