"""Leases on job rows: a worker owns a job while its lease runs, and renews it as it works.

A claim is one conditional UPDATE (the job is waiting, or its last owner's lease ran out), so
two deliveries of one job never both run it, whatever the broker does: a duplicate that comes
while the lease is live claims nothing and does nothing. The owner renews the lease (a
heartbeat) between batches of work; a worker that dies stops renewing, and the reaper
(``annotation.services.import_jobs.import_jobs_reap``) re-queues or fails the job once the
lease has run out. Every later write of the owner (completion, failure) names the owner, so a
worker that lost its lease cannot overwrite the work of the one that took the job over.
"""

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.models import JobState
from tessera.errors import ApplicationError, Conflict

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The job is no longer this worker's: its lease ran out and it was taken over, reaped or cancelled."""


def lease_owner_name() -> str:
    # Host and process say which worker holds a job; the random part tells apart two claims of one process.
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def requeue(model: type[models.Model], job_id: int, send: Callable[[int], object], *, what: str) -> None:
    """Send a reaped job's message again (``send`` is its task's ``delay``). When the broker is
    unreachable, a created row with no message would wait forever: it goes back to a job whose lease
    ran out, so that the next reaper run tries again (claims, not these tries, count attempts)."""
    try:
        send(job_id)
    except BrokerUnreachable as exc:
        logger.error("%s %s could not be queued again: %s", what, job_id, exc)
        model._default_manager.filter(pk=job_id, state=JobState.CREATED).update(
            state=JobState.IN_PROGRESS, lease_expires_at=timezone.now()
        )


def expired(now) -> Q:
    """In progress with a lease that ran out (or none: a row claimed before leases existed)."""
    return Q(state=JobState.IN_PROGRESS) & (Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))


class Lease:
    def __init__(self, model: type[models.Model], job_id: int, owner: str, seconds: int):
        self.model = model
        self.job_id = job_id
        self.owner = owner
        self.seconds = seconds
        self._renewed = time.monotonic()
        # The job's own time limit, checked between batches: it holds on every pool (Celery's soft
        # limit is a signal that the solo and thread pools never send) and fails the job with a
        # clear error; Celery's limits (settings.py) stay as the backstop.
        self.time_limit = settings.TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS
        self._deadline = self._renewed + self.time_limit

    @classmethod
    def claim(
        cls,
        model: type[models.Model],
        job_id: int,
        *,
        seconds: int | None = None,
        max_attempts: int | None = None,
    ) -> "Lease | None":
        """Take the job if it waits or its owner's lease ran out; None if someone else holds it or it is done.

        ``seconds`` and ``max_attempts`` default to the jobs' settings (training runs have their own)."""
        seconds = settings.TESSERA_JOB_LEASE_SECONDS if seconds is None else seconds
        max_attempts = settings.TESSERA_JOB_MAX_ATTEMPTS if max_attempts is None else max_attempts
        owner = lease_owner_name()
        now = timezone.now()
        claimed = (
            model._default_manager.filter(pk=job_id, attempts__lt=max_attempts)
            .filter(Q(state=JobState.CREATED) | expired(now))
            .update(
                state=JobState.IN_PROGRESS,
                attempts=F("attempts") + 1,
                started_at=now,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=seconds),
                heartbeat_at=now,
            )
        )
        return cls(model, job_id, owner, seconds) if claimed else None

    def _mine(self):
        return self.model._default_manager.filter(
            pk=self.job_id, state=JobState.IN_PROGRESS, lease_owner=self.owner
        )

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise ApplicationError(
                _(
                    "The import ran longer than its time limit (%(time_limit)s s) and was stopped; nothing was written."
                )
                % {"time_limit": self.time_limit},
                code="time_limit",
            )

    def renew(self, *, force: bool = False) -> None:
        """Push the lease forward (at most every quarter of its length); LeaseLost if it is gone.

        Also where a long job finds that it ran past its time limit (check_time).
        """
        self.check_time()
        if not force and time.monotonic() - self._renewed < self.seconds / 4:
            return
        now = timezone.now()
        if not self._mine().update(lease_expires_at=now + timedelta(seconds=self.seconds), heartbeat_at=now):
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.owner}")
        self._renewed = time.monotonic()

    def hold(self) -> None:
        """Inside a transaction: lock the job's row while it is still ours, until the commit; else LeaseLost.

        While the row is locked, neither the reaper nor a second claim can change it, so a long
        write needs no renewals (which, made inside the transaction, no one else would see).
        """
        if not list(self._mine().select_for_update().values_list("pk", flat=True)):
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.owner}")

    def complete(self, **fields) -> None:
        """Mark the job completed, with ``fields``; LeaseLost (and so a rollback) if it is not ours."""
        if not self._mine().update(
            state=JobState.COMPLETED, finished_at=timezone.now(), error=None, lease_expires_at=None, **fields
        ):
            raise LeaseLost(f"job {self.job_id} is no longer held by {self.owner}")

    def fail(self, error: dict) -> bool:
        return bool(
            self._mine().update(
                state=JobState.FAILED, finished_at=timezone.now(), error=error, lease_expires_at=None
            )
        )

    def release(self) -> None:
        """Let the lease run out now, so that a retry of this job can claim it at once."""
        self._mine().update(lease_expires_at=timezone.now())


def cancel_mark(job: models.Model) -> bool | None:
    """In the caller's transaction, a cancel asked of a job row (a model with ``state``,
    ``cancel_requested`` and ``finished_at``): a waiting job is cancelled at once (True; a late message
    for it claims nothing), a running one is asked to stop (False; its worker stops at its next
    heartbeat, or the reaper if the worker is gone), one already cancelled is left as it is (None).
    A finished job is a 409. ``job`` is read again."""
    rows = type(job)._default_manager.filter(pk=job.pk)
    waiting = rows.filter(state=JobState.CREATED).update(
        state=JobState.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    running = waiting or rows.filter(state=JobState.IN_PROGRESS).update(cancel_requested=True)
    job.refresh_from_db()
    if running:
        return bool(waiting)
    state = getattr(job, "state")  # noqa: B009 - every job model has it; models.Model does not say so
    if state == JobState.CANCELLED:
        return None
    raise Conflict(_("This job has already finished (%(state)s).") % {"state": state}, code="finished")
