"""Putting a registry model to work and taking it away: promote a model version to a project's
``registry_model`` pre-labeler, delete a version and its registry folder.

Views check the caller's role and scope the model version and the project to the caller's organization;
these functions check what is asked and write it in one transaction, with an audit event.
"""

import shutil
from functools import partial

from django.db import transaction
from django.utils.translation import gettext as _

from annotation.models import Project
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record
from training.models import ModelVersion, PrelabelBackend, Prelabeler
from training.prelabelers.base import BackendUnfit
from training.prelabelers.registry_model import registry_root
from training.services.prelabelers import backend_for, checked_settings

# The task kinds the registry_model backend predicts with; a language model answers no label config.
PROMOTABLE_KINDS = ("sequence_classification", "token_classification")


def _registry_prelabelers(project: Project) -> list[Prelabeler]:
    return list(
        Prelabeler.objects.select_for_update()
        .filter(project_id=project.pk, backend=PrelabelBackend.REGISTRY_MODEL)
        .order_by("-is_active", "-id")
    )


def model_version_promote(*, model_version: ModelVersion, project: Project, user: User) -> Prelabeler:
    """Make the version the project's pre-labeler: its newest ``registry_model`` pre-labeler (an active one
    first) reads this version, or a new one does; every other ``registry_model`` pre-labeler of the project
    is turned off, so one registry model pre-labels the project at a time. A model whose labels do not fit
    the project's config is a 400 naming ``project`` with the backend's own reason."""
    if model_version.task_kind not in PROMOTABLE_KINDS:
        raise ApplicationError(
            _("A %(kind)s model cannot pre-label a project; only classification models can.")
            % {"kind": model_version.task_kind},
            field="project",
            code="not_promotable",
        )
    with transaction.atomic():
        # The project row is locked so that two promotions at once do not both create a pre-labeler.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        existing = _registry_prelabelers(project)
        prelabeler = (
            existing[0]
            if existing
            else Prelabeler(
                project=project, backend=PrelabelBackend.REGISTRY_MODEL, created_by=user, settings={}
            )
        )
        # The options set on the pre-labeler before (control, threshold, max_length) are kept.
        prelabeler.settings = checked_settings(
            PrelabelBackend.REGISTRY_MODEL,
            {**prelabeler.settings, "model": model_version.name, "version": model_version.version},
        )
        prelabeler.project = project
        prelabeler.title = f"{model_version.name} {model_version.version}"
        prelabeler.is_active = True
        try:
            backend_for(prelabeler).check()
        except BackendUnfit as exc:
            raise ApplicationError(exc.message, field="project", code="unfit") from exc
        prelabeler.save()
        others = [row.pk for row in existing[1:] if row.is_active]
        Prelabeler.objects.filter(pk__in=others).update(is_active=False)
        audit_record(
            actor=user,
            organization=model_version.organization_id,
            action="model_version.promote",
            obj=model_version,
            details={
                "project": project.pk,
                "prelabeler": prelabeler.pk,
                "name": model_version.name,
                "version": model_version.version,
                "deactivated": others,
            },
        )
    return prelabeler


def model_version_delete(*, model_version: ModelVersion, user: User) -> None:
    """Delete the version and, once committed, its registry folder. The pre-labelers that read it are
    turned off in the same transaction: their folder is about to go, so a run would only fail."""
    root = registry_root().resolve()
    folder = (root / model_version.name / model_version.version).resolve()
    # Names are checked where they are made; a row naming a folder outside the registry keeps it anyway.
    remove_folder = folder.is_relative_to(root) and folder != root
    with transaction.atomic():
        turned_off = list(
            Prelabeler.objects.filter(
                project__organization_id=model_version.organization_id,
                backend=PrelabelBackend.REGISTRY_MODEL,
                is_active=True,
                settings__model=model_version.name,
                settings__version=model_version.version,
            ).values_list("pk", flat=True)
        )
        Prelabeler.objects.filter(pk__in=turned_off).update(is_active=False)
        audit_record(
            actor=user,
            organization=model_version.organization_id,
            action="model_version.delete",
            obj=model_version,
            details={
                "name": model_version.name,
                "version": model_version.version,
                "prelabelers_turned_off": turned_off,
            },
        )
        model_version.delete()
        # After the commit only: a rolled-back delete must keep the artifact its row points at.
        if remove_folder:
            transaction.on_commit(partial(shutil.rmtree, folder, ignore_errors=True))
