"""Reads of the training app, scoped to the caller's organization: another organization's objects are 404."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from annotation.models import Project
from tessera import validation
from tessera.errors import NotFound
from tessera.models import Membership
from training.models import PrelabelBackend, Prelabeler


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
