"""Celery entry points for the training app: thin adapters that call services with a job row's id.

``prelabel_*`` tasks go to the ``prelabel`` queue and ``train_*`` ones to the ``gpu`` queue
(tessera/celery.py routes them by name); the reapers and the refit sweep are short and run on the
default queue.
"""

from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings

from tessera.job_tasks import JOB_RETRY_OPTIONS, job_task_run
from training.services.prelabel_jobs import (
    prelabel_job_fail,
    prelabel_job_run,
    prelabel_jobs_reap,
    prelabel_refit_sweep,
)
from training.services.training_jobs import training_job_fail, training_jobs_reap
from training.services.training_runs import training_job_run


@shared_task(
    bind=True,
    name="training.tasks.prelabel_run_job",
    **JOB_RETRY_OPTIONS,
)
def prelabel_run_job(self: Any, job_id: int) -> None:
    job_task_run(
        self,
        run=partial(prelabel_job_run, job_id=job_id),
        fail=partial(prelabel_job_fail, job_id=job_id),
        time_limit_message="The job ran longer than its time limit ({limit} s) and was stopped; "
        "the predictions written so far are kept.",
    )


@shared_task(name="training.tasks.reap_prelabel_jobs", soft_time_limit=50, time_limit=60)
def reap_prelabel_jobs() -> dict:
    report = prelabel_jobs_reap()
    return {"requeued": report.requeued, "failed": report.failed, "cancelled": report.cancelled}


@shared_task(name="training.tasks.sweep_prelabel_refits", soft_time_limit=50, time_limit=60)
def sweep_prelabel_refits() -> dict:
    """Refit jobs for learning pre-labelers whose project gained prelabel_refit_every labels."""
    return {"refits": prelabel_refit_sweep().refits}


@shared_task(
    bind=True,
    name="training.tasks.train_run_job",
    # Acknowledged when a worker takes it, not after: a run lasts hours, longer than the broker's
    # visibility timeout, and a message held that long would be delivered again and run twice. The lease
    # in the job's row owns the run; a worker that dies is found by the reaper, which queues it again.
    acks_late=False,
    soft_time_limit=settings.TESSERA_TRAINING_TIME_LIMIT_SECONDS,
    time_limit=settings.TESSERA_TRAINING_TIME_LIMIT_SECONDS + 60,
    **JOB_RETRY_OPTIONS,
)
def train_run_job(self: Any, job_id: int) -> None:
    job_task_run(
        self,
        run=partial(training_job_run, job_id),
        fail=partial(training_job_fail, job_id=job_id),
        time_limit_message="The run took longer than its time limit ({limit} s) and was stopped.",
    )


@shared_task(name="training.tasks.reap_training_jobs", soft_time_limit=50, time_limit=60)
def reap_training_jobs() -> dict:
    report = training_jobs_reap()
    return {"requeued": report.requeued, "failed": report.failed, "cancelled": report.cancelled}
