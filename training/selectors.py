"""Reads of the training app, scoped to the caller's organization: another organization's pre-labelers
and jobs are 404s, never 403s, so ids reveal nothing."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from annotation.models import Project
from tessera import validation
from tessera.errors import ApplicationError, NotFound
from tessera.models import Membership
from training.models import (
    BaseModel,
    PrelabelBackend,
    Prelabeler,
    PrelabelJob,
    TrainingEvent,
    TrainingJob,
    TrainingMetric,
)

RECENT_JOBS = 50


def prelabeler_get(*, membership: Membership, prelabeler_id: object) -> Prelabeler:
    prelabeler = (
        Prelabeler.objects.select_related("project", "created_by")
        .filter(pk=validation.object_id(prelabeler_id), project__organization_id=membership.organization_id)
        .first()
    )
    if prelabeler is None:
        raise NotFound(_("Pre-labeler not found."))
    return prelabeler


def prelabelers_of(*, project: Project) -> QuerySet[Prelabeler]:
    return Prelabeler.objects.filter(project_id=project.pk).select_related("created_by").order_by("id")


def prelabel_job_get(*, membership: Membership, job_id: object) -> PrelabelJob:
    job = (
        PrelabelJob.objects.select_related("project")
        .filter(pk=validation.object_id(job_id), project__organization_id=membership.organization_id)
        .first()
    )
    if job is None:
        raise NotFound(_("Pre-labeling job not found."))
    return job


def prelabel_jobs_recent(*, project: Project) -> list[PrelabelJob]:
    """The project's newest jobs first, at most RECENT_JOBS (the (project, -id) index)."""
    return list(PrelabelJob.objects.filter(project_id=project.pk).order_by("-id")[:RECENT_JOBS])


def ml_backends(*, membership: Membership, project: Project | None = None) -> QuerySet[Prelabeler]:
    """The organization's Label Studio ML backends (pre-labelers of that backend), of one project if given."""
    rows = Prelabeler.objects.select_related("project").filter(
        backend=PrelabelBackend.ML_BACKEND, project__organization_id=membership.organization_id
    )
    if project is not None:
        rows = rows.filter(project=project)
    return rows.order_by("id")


def ml_backend_get(*, membership: Membership, ml_backend_id: object) -> Prelabeler:
    found = ml_backends(membership=membership).filter(pk=validation.object_id(ml_backend_id)).first()
    if found is None:
        raise NotFound(_("ML backend not found."))
    return found


def base_models_of(*, membership: Membership) -> QuerySet[BaseModel]:
    return BaseModel.objects.filter(organization_id=membership.organization_id).order_by("id")


def base_model_get(*, membership: Membership, base_model_id: object, field: str | None = None) -> BaseModel:
    """The organization's base model; with ``field`` (an id in a request body) a missing one is a 400 naming
    it, without (an id in the path) a 404."""
    found = (
        base_models_of(membership=membership)
        .filter(pk=validation.object_id(base_model_id, field=field))
        .first()
    )
    if found is None:
        if field is not None:
            raise ApplicationError(_("No such base model."), field=field, code="not_found")
        raise NotFound(_("Base model not found."))
    return found


# ---- training jobs ------------------------------------------------------------------------------------------

TRAINING_JOB_EVENTS = 50
TRAINING_METRICS_PAGE = 5000


def training_jobs_of(*, membership: Membership, project: Project | None = None) -> QuerySet[TrainingJob]:
    """The organization's jobs (of one project if given), newest first, with what a list item shows
    joined in one query: dataset, base model, creator and the model version it produced."""
    rows = TrainingJob.objects.filter(organization_id=membership.organization_id)
    if project is not None:
        rows = rows.filter(project_id=project.pk)
    return rows.select_related("dataset", "base_model", "created_by", "model_version").order_by("-id")


def training_job_get(*, membership: Membership, job_id: object) -> TrainingJob:
    job = training_jobs_of(membership=membership).filter(pk=validation.object_id(job_id)).first()
    if job is None:
        raise NotFound(_("Training job not found."))
    return job


def training_job_events(*, job: TrainingJob) -> list[TrainingEvent]:
    """The latest TRAINING_JOB_EVENTS events, oldest first (the (job, id) index, read backwards)."""
    latest = list(TrainingEvent.objects.filter(job_id=job.pk).order_by("-id")[:TRAINING_JOB_EVENTS])
    return latest[::-1]


def training_job_metrics(*, job: TrainingJob, after: int = 0) -> list[TrainingMetric]:
    """Metric rows after the id ``after``, in id order, at most TRAINING_METRICS_PAGE (ask again after the
    last id for more)."""
    return list(
        TrainingMetric.objects.filter(job_id=job.pk, pk__gt=after).order_by("id")[:TRAINING_METRICS_PAGE]
    )
