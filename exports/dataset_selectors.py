"""Reads of dataset versions, scoped to the caller's organization: another organization's version is a 404."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from annotation.models import Project
from annotation.selectors import project_get
from exports.datasets import storage
from exports.models import DatasetVersion
from tessera.errors import NotFound
from tessera.models import Membership
from tessera.validation import object_id

RECENT_VERSIONS = 200


def dataset_version_get(
    *, membership: Membership, version_id: object, project_id: int | None = None
) -> DatasetVersion:
    # Without a field, a malformed id is a 404 (no version has it).
    pk = object_id(version_id)
    rows = DatasetVersion.objects.filter(pk=pk, organization_id=membership.organization_id)
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    version = rows.select_related("project", "created_by").first()
    if version is None:
        raise NotFound(_("Dataset version not found."))
    # The project's own visibility rules apply to its versions too.
    project_get(membership=membership, project_id=version.project_id)
    return version


def dataset_version_list(*, project: Project, snapshots_only: bool = False) -> QuerySet[DatasetVersion]:
    rows = DatasetVersion.objects.filter(project=project)
    if snapshots_only:
        rows = rows.filter(snapshot=True)
    return rows.select_related("created_by").order_by("-pk")[:RECENT_VERSIONS]


def dataset_version_card(*, version: DatasetVersion) -> str | None:
    card = next((f for f in version.files if f["format"] == "card"), None)
    if card is None:
        return None
    path = storage.resolve(card["path"])
    return path.read_text(encoding="utf-8") if path.exists() else None


def dataset_version_file(*, version: DatasetVersion, format_name: str, split: str | None) -> dict | None:
    """The file entry of that format and split; a format with one file matches whatever split is asked."""
    matches = [f for f in version.files if f["format"] == format_name]
    if len(matches) == 1 and matches[0]["split"] is None:
        return matches[0]
    return next((f for f in matches if f["split"] == split), None)
