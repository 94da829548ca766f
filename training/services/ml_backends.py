"""Label Studio ML backends as Label Studio's ``/api/ml/`` registers them: pre-labelers with backend ml_backend.

A body in Label Studio's MLBackend shape becomes the pre-labeler's title, model version and settings
(``training.prelabelers.ml_backend.MLBackendSettings``). As in Label Studio, a new or changed backend is
asked for ``/health`` and ``/setup``; a server that fails still saves, in state "ER" with the error,
kept in ``fit_info`` (``{"state", "error_message", "checked_at"}``: this backend never fits). The calls
to the server run outside any transaction; what they found is written after, in its own.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import Project
from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record
from training.models import PrelabelBackend, Prelabeler
from training.prelabelers.ml_backend import STATE_CONNECTED, MLBackend
from training.services.prelabelers import backend_for, checked_settings, create_prelabeler

# Label Studio's fields that are settings of the backend.
SETTINGS_FIELDS = (
    "url",
    "timeout",
    "auth_method",
    "basic_auth_user",
    "basic_auth_pass",
    "extra_params",
    "description",
    "is_interactive",
    "auto_update",
)
WRITABLE_FIELDS = frozenset({*SETTINGS_FIELDS, "title", "model_version"})
# Fields of Label Studio's answer that a client may send back unchanged: ignored.
READ_ONLY_FIELDS = frozenset(
    {"id", "state", "readable_state", "error_message", "basic_auth_pass_is_set", "created_at", "updated_at"}
)


def _as_ml_field(exc: ApplicationError) -> ApplicationError:
    """An error naming ``settings.url`` names ``url`` here, the field of Label Studio's body."""
    if exc.field and exc.field.startswith("settings."):
        exc.field = exc.field.removeprefix("settings.")
    return exc


def _checked_fields(fields: dict[str, Any]) -> dict[str, Any]:
    for name in fields:
        if name not in WRITABLE_FIELDS and name not in READ_ONLY_FIELDS and name != "project":
            raise ApplicationError(
                _("Unknown field %(field)r.") % {"field": validation.printable(str(name))[:100]},
                field=validation.printable(str(name))[:100],
            )
    title = fields.get("title")
    if title is not None and not isinstance(title, str):
        raise ApplicationError(_("The title must be a string."), field="title")
    version = fields.get("model_version")
    if version is not None:
        if not isinstance(version, str) or len(version) > 200:
            raise ApplicationError(
                _("model_version must be a string of at most 200 characters."), field="model_version"
            )
        validation.check_text(version, field="model_version")
    # Label Studio's clients send null for "not set"; a null timeout means the server-wide default.
    return {
        name: value
        for name, value in fields.items()
        if name in WRITABLE_FIELDS and (value is not None or name == "timeout")
    }


def _settings(fields: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    merged = dict(current or {})
    for name in SETTINGS_FIELDS:
        if name in fields:
            merged[name] = fields[name]
    # As in Label Studio, a change that leaves the password empty keeps the one set before.
    if current and not fields.get("basic_auth_pass"):
        merged["basic_auth_pass"] = current.get("basic_auth_pass", "")
    try:
        return checked_settings(PrelabelBackend.ML_BACKEND, merged)
    except ApplicationError as exc:
        raise _as_ml_field(exc) from None


def ml_backend_create(*, project: Project, user: User, fields: dict[str, Any]) -> Prelabeler:
    """Register a backend (``fields`` is Label Studio's body, the project already scoped) and connect it."""
    if "url" not in fields or fields["url"] is None:
        raise ApplicationError(_("url is required."), field="url", code="required")
    fields = _checked_fields(fields)
    title = fields.get("title")
    if title is not None:
        validation.check_text(title, field="title")
    try:
        prelabeler = create_prelabeler(
            project=project,
            user=user,
            backend=PrelabelBackend.ML_BACKEND,
            title=title,
            settings={name: fields[name] for name in SETTINGS_FIELDS if name in fields},
        )
    except ApplicationError as exc:
        raise _as_ml_field(exc) from None
    return ml_backend_connect(prelabeler=prelabeler, user=user, model_version=fields.get("model_version"))


def ml_backend_update(*, prelabeler: Prelabeler, user: User, fields: dict[str, Any]) -> Prelabeler:
    """Change what Label Studio's PATCH may change, then check the connection again, as Label Studio does."""
    if fields.get("project") is not None and fields["project"] != prelabeler.project_id:
        raise ApplicationError(_("An ML backend stays in the project it was added to."), field="project")
    fields = _checked_fields(fields)
    settings = _settings(fields, prelabeler.settings)
    title = fields.get("title")
    if title is not None and not title.strip():
        raise ApplicationError(_("The title may not be empty."), field="title")
    if title is not None and len(title) > 250:
        raise ApplicationError(_("The title is longer than 250 characters."), field="title")
    with transaction.atomic():
        prelabeler = Prelabeler.objects.select_for_update().select_related("project").get(pk=prelabeler.pk)
        prelabeler.settings = settings
        if title is not None:
            prelabeler.title = validation.check_text(title.strip(), field="title")
        prelabeler.save(update_fields=["settings", "title", "updated_at"])
        audit_record(
            actor=user,
            organization=prelabeler.project.organization_id,
            action="prelabeler.update",
            obj=prelabeler,
            details={"fields": sorted(name for name in fields if name != "basic_auth_pass")},
        )
    return ml_backend_connect(prelabeler=prelabeler, user=user, model_version=fields.get("model_version"))


def ml_backend_connect(
    *, prelabeler: Prelabeler, user: User | None, model_version: str | None = None
) -> Prelabeler:
    """Ask the server for /health and /setup and keep the state it is in (and the model version it names)."""
    backend = backend_for(prelabeler)
    assert isinstance(backend, MLBackend)
    state, error, served_version = backend.connect()
    with transaction.atomic():
        prelabeler = Prelabeler.objects.select_for_update().select_related("project").get(pk=prelabeler.pk)
        prelabeler.fit_info = {
            "state": state,
            "error_message": error,
            "checked_at": timezone.now().isoformat(),
        }
        if state == STATE_CONNECTED and served_version and prelabeler.settings.get("auto_update", True):
            prelabeler.model_version = served_version
        elif model_version:
            prelabeler.model_version = model_version
        prelabeler.save(update_fields=["fit_info", "model_version", "updated_at"])
        audit_record(
            actor=user,
            organization=prelabeler.project.organization_id,
            action="prelabeler.connect",
            obj=prelabeler,
            details={"state": state, "model_version": prelabeler.model_version},
        )
    return prelabeler


def ml_backend_delete(*, prelabeler: Prelabeler, user: User) -> None:
    """Remove the backend; the predictions it wrote stay (their pre-labeler becomes null)."""
    with transaction.atomic():
        audit_record(
            actor=user,
            organization=prelabeler.project.organization_id,
            action="prelabeler.delete",
            obj=prelabeler,
            details={"project": prelabeler.project_id, "backend": prelabeler.backend},
        )
        prelabeler.delete()
