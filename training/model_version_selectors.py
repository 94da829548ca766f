"""Reads of the model registry, scoped to the caller's organization: another organization's model versions
are 404s, never 403s, so ids reveal nothing."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from annotation.models import Project
from tessera import validation
from tessera.errors import ApplicationError, NotFound
from tessera.models import Membership
from training.models import ModelVersion, PrelabelBackend, Prelabeler


def model_versions_of(*, membership: Membership, project: Project | None = None) -> QuerySet[ModelVersion]:
    """The organization's model versions, newest first (the (organization, -id) or (project, -id) index)."""
    rows = ModelVersion.objects.filter(organization_id=membership.organization_id)
    if project is not None:
        rows = rows.filter(project_id=project.pk)
    return rows.select_related("created_by").order_by("-id")


def model_version_get(*, membership: Membership, model_version_id: object) -> ModelVersion:
    found = (
        model_versions_of(membership=membership)
        .select_related("job")
        .filter(pk=validation.object_id(model_version_id))
        .first()
    )
    if found is None:
        raise NotFound(_("Model not found."))
    return found


def project_in_organization(*, membership: Membership, project_id: object, field: str) -> Project:
    """A project named in a request body: another organization's or a missing one is a 400 naming
    ``field`` (no such project exists for the caller)."""
    project = Project.objects.filter(
        pk=validation.object_id(project_id, field=field), organization_id=membership.organization_id
    ).first()
    if project is None:
        raise ApplicationError(_("No such project."), field=field, code="not_found")
    return project


def promoted_to(*, organization_id: int, versions: Iterable[ModelVersion]) -> dict[int, list[int]]:
    """For each version, the projects whose active ``registry_model`` pre-labeler reads it, in one query
    for the whole page (the settings name the registry folder, not the row)."""
    by_folder = {(version.name, version.version): version.pk for version in versions}
    found: dict[int, list[int]] = defaultdict(list)
    if not by_folder:
        return found
    prelabelers = Prelabeler.objects.filter(
        project__organization_id=organization_id,
        backend=PrelabelBackend.REGISTRY_MODEL,
        is_active=True,
        settings__model__in=sorted({name for name, _version in by_folder}),
    ).values_list("project_id", "settings")
    for project_id, settings in prelabelers.order_by("project_id"):
        key = (str(settings.get("model", "")), str(settings.get("version", "")))
        if key in by_folder and project_id not in found[by_folder[key]]:
            found[by_folder[key]].append(project_id)
    return found
