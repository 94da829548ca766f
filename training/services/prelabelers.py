"""Creating and changing pre-labelers: the backend's settings checked and its fit with the project's config.

Views check the caller's role (managers and above) and scope the project to the caller's organization;
these functions check what is asked and write it in one transaction, with an audit event.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from annotation.models import Project
from annotation.services.projects import project_schema
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record
from training.models import PrelabelBackend, Prelabeler
from training.prelabelers.base import Backend, BackendUnfit
from training.prelabelers.registry import backend_class


def backend_name(value: object) -> str:
    if value not in PrelabelBackend.values:
        raise ApplicationError(
            _("Unknown backend: use one of %(names)s.") % {"names": ", ".join(PrelabelBackend.values)},
            field="backend",
        )
    return str(value)


def checked_settings(backend: str, value: object) -> dict[str, Any]:
    """The settings with the backend's defaults filled in; a 400 naming ``settings.<key>`` when one is wrong."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ApplicationError(_("Settings must be a JSON object."), field="settings")
    serializer = backend_class(backend).settings_serializer(data=value)
    if not serializer.is_valid():
        key, messages = next(iter(serializer.errors.items()))
        message = messages[0] if isinstance(messages, list) and messages else str(messages)
        if isinstance(messages, dict):  # a nested serializer: name the inner key too
            inner_key, inner = next(iter(messages.items()))
            key, message = f"{key}.{inner_key}", inner[0] if isinstance(inner, list) else str(inner)
        field = "settings" if key == "non_field_errors" else f"settings.{key}"
        raise ApplicationError(str(message), field=field)
    return dict(serializer.validated_data)


def backend_for(prelabeler: Prelabeler) -> Backend:
    """The backend object for a saved pre-labeler, built on its project's current config."""
    return backend_class(prelabeler.backend)(prelabeler, project_schema(prelabeler.project))


def _check_fit(prelabeler: Prelabeler) -> None:
    try:
        backend_for(prelabeler).check()
    except BackendUnfit as exc:
        raise ApplicationError(exc.message, field=exc.field) from exc


def create_prelabeler(
    *,
    project: Project,
    user: User | None,
    backend: object,
    title: object = None,
    settings: object = None,
    run_on_import: bool = False,
) -> Prelabeler:
    name = backend_name(backend)
    if title is not None and not isinstance(title, str):
        raise ApplicationError(_("The title must be a string."), field="title")
    if title is not None and len(title) > 250:
        raise ApplicationError(_("The title is longer than 250 characters."), field="title")
    prelabeler = Prelabeler(
        project=project,
        backend=name,
        title=(title or "").strip() or PrelabelBackend(name).label,
        settings=checked_settings(name, settings),
        run_on_import=bool(run_on_import),
        created_by=user,
    )
    _check_fit(prelabeler)
    with transaction.atomic():
        prelabeler.save()
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="prelabeler.create",
            obj=prelabeler,
            details={"project": project.pk, "backend": name},
        )
    return prelabeler
