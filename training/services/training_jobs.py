"""Training jobs: launch (every check made before a GPU second is spent), cancel, the reaper, and the events
a job's page shows. The run itself, on a worker of the ``gpu`` queue, is training/services/training_runs.py.

A launch checks the body as the estimate does (training/services/estimates.py: recipe, base model,
parameters, resources), then the dataset version: the organization's, completed, with files of the
recipe's dataset format and a train split. The base model's folder is checked again (it may have gone, or
the allowed roots may have changed since it was registered). The row holds everything the run needs, so
a later change to the base model or the version does not change what the job trains on: the parameters
with their defaults, the resources, the estimate, the version's manifest digest and the model's folder.
"""

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.models import JobState
from annotation.services.leases import cancel_mark, expired, requeue
from exports.datasets import storage
from tessera.errors import ApplicationError
from tessera.models import Membership, User
from tessera.services import audit_record
from training.model_folders import model_folder_check
from training.models import TrainingEvent, TrainingJob
from training.services.base_models import allowed_roots
from training.services.dataset_inputs import dataset_version_for_recipe
from training.services.estimates import LaunchChecked, estimate_run, launch_check, version_counts

logger = logging.getLogger(__name__)

LIVE_STATES = (JobState.CREATED, JobState.IN_PROGRESS)
LAUNCH_KEYS = {"dataset", "recipe", "base_model", "params", "resources", "name"}
MAX_NAME = 200


def job_event(job_id: int, kind: str, *, source: str = "worker", **details: Any) -> TrainingEvent:
    """One event of the job (the worker's, unless said), written now."""
    return TrainingEvent.objects.create(
        job_id=job_id, time=timezone.now(), source=source, kind=kind, details=details
    )


def _base_model_folder(launch: LaunchChecked) -> str:
    """The base model's folder, checked again now: gone, moved outside the allowed roots or changed into
    something refused is a 400 naming ``base_model``."""
    if launch.base_model is None:
        return ""
    try:
        folder = model_folder_check(launch.base_model.path, roots=allowed_roots())
    except ApplicationError as error:
        raise ApplicationError(
            _("The base model %(name)s cannot be trained: %(reason)s")
            % {"name": launch.base_model.name, "reason": error.message},
            field="base_model",
            code=error.code,
        ) from None
    return str(folder.path)


def _name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if name is None:
        return ""
    if not isinstance(name, str) or len(name) > MAX_NAME or "\x00" in name:
        raise ApplicationError(
            _("A name is a string of at most %(limit)s characters.") % {"limit": MAX_NAME}, field="name"
        )
    return name.strip()


def training_job_launch(*, membership: Membership, body: dict[str, Any]) -> TrainingJob:
    """A job row, queued on the ``gpu`` queue once the transaction commits (managers+ checked by the view)."""
    unknown = sorted(set(body) - LAUNCH_KEYS)
    if unknown:
        raise ApplicationError(
            _("Unknown field; use %(names)s.") % {"names": ", ".join(sorted(LAUNCH_KEYS))}, field=unknown[0]
        )
    if body.get("dataset") is None:
        raise ApplicationError(_("Name the dataset version to train on."), field="dataset", code="required")
    launch = launch_check(membership=membership, body=body)
    version, files = dataset_version_for_recipe(membership, body["dataset"], launch.recipe)
    base_model_path = _base_model_folder(launch)
    name = _name(body)
    counts, counted = version_counts(launch, version, files)
    estimate = {
        **estimate_run(launch, counts).as_dict(),
        "dataset_counts": version.counts,
        "dataset_tokens": counted.as_dict(),
    }
    user = membership.user
    with transaction.atomic():
        job = TrainingJob.objects.create(
            organization_id=membership.organization_id,
            project_id=version.project_id,
            dataset=version,
            dataset_manifest_sha256=version.manifest_sha256,
            recipe=launch.recipe.name,
            base_model=launch.base_model,
            base_model_path=base_model_path,
            params=launch.recipe_params_dict(),
            resources={
                "gpus": launch.resources.gpus,
                "gpu_type": launch.resources.gpu_type,
                "strategy": launch.resources.strategy,
            },
            estimate=estimate,
            created_by=user,
        )
        # Named from the id alone, never from anything a user typed.
        job.run_dir = f"training/jobs/{job.pk}"
        job.save(update_fields=["run_dir"])
        details: dict[str, Any] = {
            "recipe": job.recipe,
            "dataset": version.pk,
            "base_model": job.base_model_id,
            "name": name,
        }
        audit_record(
            actor=user,
            organization=membership.organization_id,
            action="training_job.create",
            obj=job,
            details=details,
        )
        job_event(job.pk, "created", user=user.pk, **details)
        transaction.on_commit(partial(_enqueue, job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from training.tasks import train_run_job

    try:
        train_run_job.delay(job_id)
    except BrokerUnreachable as exc:
        # A created row with no message would wait forever: fail it, and say so on the job's page.
        logger.error("Training job %s could not be queued: %s", job_id, exc)
        if TrainingJob.objects.filter(pk=job_id, state=JobState.CREATED).update(
            state=JobState.FAILED,
            finished_at=timezone.now(),
            error={"code": "queue_unavailable", "message": "The job queue was unreachable."},
        ):
            job_event(job_id, "failed", code="queue_unavailable")


# ---- cancel ------------------------------------------------------------------------------------------------


def training_job_cancel(*, job: TrainingJob, user: User) -> TrainingJob:
    """A queued job is cancelled at once (a late message for it claims nothing); a running one is asked to
    stop: its worker sends the runner SIGTERM at its next heartbeat (the reaper cancels it if its worker is
    gone). Asking again is harmless; a finished job is a 409."""
    with transaction.atomic():
        waiting = cancel_mark(job)
        if waiting is None:
            return job
        job_event(job.pk, "cancelled" if waiting else "cancel_requested", user=user.pk)
        audit_record(actor=user, organization=job.organization_id, action="training_job.cancel", obj=job)
    return job


def training_job_fail(*, job_id: int, message: str, code: str = "server_error") -> None:
    """Mark a job failed after its task's retries ran out on an unexpected fault."""
    if TrainingJob.objects.filter(pk=job_id, state__in=LIVE_STATES).update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        lease_expires_at=None,
        error={"code": code, "message": message},
    ):
        job_event(job_id, "failed", code=code, message=message)


# ---- the reaper ----------------------------------------------------------------------------------------------


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def training_jobs_reap() -> ReapReport:
    """A running job whose lease ran out (its worker died or stalled) goes back to created and is queued
    again (the next worker resumes from the last checkpoint), fails with ``worker_lost`` after
    TESSERA_TRAINING_MAX_ATTEMPTS claims, or is cancelled when its cancel was asked. Rows being written
    are locked by their owner and passed over."""
    report = ReapReport()
    now = timezone.now()
    limit = settings.TESSERA_TRAINING_MAX_ATTEMPTS
    with transaction.atomic():
        candidates = list(
            TrainingJob.objects.select_for_update(skip_locked=True)
            .filter(expired(now))
            .order_by("pk")
            .values_list("pk", "attempts", "cancel_requested", "lease_owner")
        )
        for job_id, attempts, cancel_requested, owner in candidates:
            still_expired = TrainingJob.objects.filter(expired(now), pk=job_id)
            if cancel_requested:
                if still_expired.update(state=JobState.CANCELLED, finished_at=now, lease_expires_at=None):
                    report.cancelled.append(job_id)
                    job_event(job_id, "cancelled", reason="worker_lost")
            elif attempts >= limit:
                message = (
                    f"The training run was started {attempts} times and its worker stopped each time before "
                    "it finished (killed, out of memory, or restarted); it was given up."
                )
                if still_expired.update(
                    state=JobState.FAILED, finished_at=now, lease_expires_at=None,
                    error={"code": "worker_lost", "message": message},
                ):  # fmt: skip
                    report.failed.append(job_id)
                    job_event(job_id, "failed", code="worker_lost", attempts=attempts)
            elif still_expired.update(state=JobState.CREATED, lease_owner="", lease_expires_at=None):
                report.requeued.append(job_id)
                job_event(job_id, "lease_expired", owner=owner, attempts=attempts)
                transaction.on_commit(partial(_requeue, job_id))
    for job_id in report.requeued:
        logger.warning("Training job %s lost its worker; queued again to resume.", job_id)
    for job_id in report.failed:
        logger.error("Training job %s lost its worker too many times; failed.", job_id)
    return report


def _requeue(job_id: int) -> None:
    from training.tasks import train_run_job

    requeue(TrainingJob, job_id, train_run_job.delay, what="Training job")


def dataset_file_path(entry: dict) -> str:
    """A version file's absolute path (the storage refuses one outside the datasets folder)."""
    return str(storage.resolve(entry["path"]))
