"""What every background job's Celery task does around its service, in one place.

A job's task takes the job row's id and calls the service that runs it. Past the soft time limit the job
fails with its own message. A transient fault (the database or the file system) is raised again, so the
task's ``autoretry_for`` tries once more after a backoff; on its last try the job fails with the error.
Any other error fails the job at once and is not retried: running the same code again would fail the
same way.
"""

from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError

TRANSIENT_ERRORS = (DatabaseError, OSError)

# The retry options every job task shares (besides acks_late and reject_on_worker_lost, set app-wide or
# per task where a job must not run twice at once).
JOB_RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
}


def job_task_run(
    task: Any, *, run: Callable[[], None], fail: Callable[..., None], time_limit_message: str
) -> None:
    """``run()`` the job; ``fail(message=…, code=…)`` marks it failed. ``time_limit_message`` may name
    ``{limit}``, the soft limit in seconds."""
    try:
        run()
    except SoftTimeLimitExceeded:
        limit = task.soft_time_limit or settings.TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS
        fail(message=time_limit_message.format(limit=limit), code="time_limit")
    except Exception as exc:
        transient = isinstance(exc, TRANSIENT_ERRORS)
        if task.request.retries >= task.max_retries or not transient:
            fail(message=f"{type(exc).__name__}: {exc}")
            if not transient:
                return
        raise
