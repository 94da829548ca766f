"""The Celery app. Tasks are thin adapters: they take a job row's id and call a service.

Reliability settings apply to every task: a task is acknowledged only after it
ran (``acks_late``) and goes back to the queue when its worker dies mid-run
(``task_reject_on_worker_lost``); jobs are idempotent, so a second run is safe.
A job is owned through a lease in its row, not through the broker's visibility
timeout: the reaper below, run by beat every TESSERA_JOB_REAP_INTERVAL_SECONDS,
re-queues a job whose worker stopped renewing its lease. Every task has a soft
and a hard time limit.
"""

import os
from pathlib import Path

from celery import Celery, signature
from kombu import Queue

from tessera.adapters import kombu_filesystem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
# The demo's file-system broker writes each message atomically (see the adapter).
kombu_filesystem.install()

app = Celery("tessera")
app.config_from_object("django.conf:settings", namespace="CELERY")

QUEUES = ("default", "prelabel", "gpu")

app.conf.update(
    task_queues=[Queue(name) for name in QUEUES],
    task_default_queue="default",
    task_routes={
        "training.tasks.prelabel_*": {"queue": "prelabel"},
        "training.tasks.train_*": {"queue": "gpu"},
    },
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
)

REAPER = "annotation.tasks.reap_import_jobs"
SEARCH_SWEEP = "annotation.tasks.sweep_task_search"
PRELABEL_REAPER = "training.tasks.reap_prelabel_jobs"
PRELABEL_REFITS = "training.tasks.sweep_prelabel_refits"
DATASET_REAPER = "exports.tasks.reap_dataset_versions"
TRAINING_REAPER = "training.tasks.reap_training_jobs"


@app.on_after_configure.connect
def _beat_schedule(sender: Celery, **kwargs: object) -> None:
    """The beat schedule (``celery -A tessera beat``, or a worker started with ``-B``).

    Set up once the configuration is read, so that Django's settings are loaded by then.
    The time limits of every task come from settings.py (CELERY_TASK_SOFT_TIME_LIMIT).
    """
    from django.conf import settings

    interval = float(settings.TESSERA_JOB_REAP_INTERVAL_SECONDS)
    # An old sweep message is worth little once newer ones follow: it expires instead of piling up
    # behind a long job on a single worker. Not sooner than delivery takes, though: the file-system
    # broker is polled about once a second, and a message that always expires on its way (a 1 s
    # interval, expiring after 1 s) meant a reaper that never ran.
    expires = sweep_expiry_seconds(interval)
    sender.add_periodic_task(
        interval, signature(REAPER, options={"expires": expires}), name="reap-import-jobs"
    )
    # Search rows are queued on each import's commit; the sweep catches a message that was lost.
    sender.add_periodic_task(
        interval, signature(SEARCH_SWEEP, options={"expires": expires}), name="sweep-task-search"
    )
    # Pre-labeling jobs whose worker died come back as imports do; learning pre-labelers refit every
    # prelabel_refit_every new labels (training/services/prelabel_jobs.py).
    sender.add_periodic_task(
        interval, signature(PRELABEL_REAPER, options={"expires": interval}), name="reap-prelabel-jobs"
    )
    sender.add_periodic_task(
        interval, signature(PRELABEL_REFITS, options={"expires": interval}), name="sweep-prelabel-refits"
    )
    # Dataset builds whose worker died are rebuilt from nothing (exports/dataset_services.py).
    sender.add_periodic_task(
        interval, signature(DATASET_REAPER, options={"expires": expires}), name="reap-dataset-versions"
    )
    # Training runs whose worker died go back to the gpu queue and resume from their last checkpoint
    # (training/services/training_jobs.py).
    sender.add_periodic_task(
        interval, signature(TRAINING_REAPER, options={"expires": expires}), name="reap-training-jobs"
    )


def sweep_expiry_seconds(interval: float) -> float:
    """How long a periodic sweep's message stays worth running: two intervals, and never under 15 s."""
    return max(2 * interval, 15.0)


def _ensure_file_broker_folders() -> None:
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


_ensure_file_broker_folders()
app.autodiscover_tasks()
