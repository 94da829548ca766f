"""Creating and changing pre-labelers: the backend's settings checked and its fit with the project's config.

Views check the caller's role (managers and above) and scope the project to the caller's organization;
these functions check what is asked and write it in one transaction, with an audit event.
"""

import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils.translation import gettext as _

from annotation.models import Project, Task
from annotation.services.projects import project_schema
from tessera import validation
from tessera.errors import ApplicationError, Conflict
from tessera.models import User
from tessera.services import audit_record
from training.models import PrelabelBackend, Prelabeler
from training.prelabelers.base import Backend, BackendUnfit, TaskInput
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
    # Stored as JSON: no NUL or lone surrogate (PostgreSQL refuses them), bounded depth.
    validation.check_json(value, field="settings")
    serializer = backend_class(backend).settings_serializer(data=value)
    if not serializer.is_valid():
        field, message = _first_error(serializer.errors, "settings")
        raise ApplicationError(message, field=field)
    return dict(serializer.validated_data)


def _first_error(errors: object, path: str) -> tuple[str, str]:
    """The first error of a serializer's nested errors, and the path of the key it names:
    ``settings.rules.ORG.patterns[0]``."""
    if isinstance(errors, dict):
        for key, inner in errors.items():
            if inner in ({}, []):
                continue
            if key == "non_field_errors":
                return _first_error(inner, path)
            return _first_error(inner, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}")
    if isinstance(errors, list):
        for index, inner in enumerate(errors):
            if isinstance(inner, dict | list):
                if inner:
                    return _first_error(inner, f"{path}[{index}]")
            else:
                return path, str(inner)
    return path, str(errors)


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
    if title is not None:
        validation.check_text(title, field="title")
    prelabeler = Prelabeler(
        project=project,
        backend=name,
        title=(title or "").strip() or PrelabelBackend(name).label,
        settings=checked_settings(name, settings),
        run_on_import=validation.flag(run_on_import, field="run_on_import", default=False),
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


UPDATABLE = ("title", "settings", "run_on_import", "is_active")
READ_ONLY = (
    "id",
    "project",
    "backend",
    "model_version",
    "fitted_at",
    "fitted_examples",
    "fit_info",
    "learns",
)


def _title(value: object) -> str:
    if not isinstance(value, str):
        raise ApplicationError(_("The title must be a string."), field="title")
    value = validation.check_text(value.strip(), field="title")
    if not value:
        raise ApplicationError(_("The title may not be empty."), field="title")
    if len(value) > 250:
        raise ApplicationError(_("The title is longer than 250 characters."), field="title")
    return value


def prelabeler_update(*, prelabeler: Prelabeler, user: User, fields: dict[str, Any]) -> Prelabeler:
    """Change the title, settings (checked against the backend and the config), run_on_import, is_active."""
    for name in READ_ONLY:
        if name in fields and name != "id":
            raise ApplicationError(
                _("%(name)s cannot be changed.") % {"name": name}, field=name, code="read_only"
            )
    changed = []
    if "title" in fields:
        prelabeler.title = _title(fields["title"])
        changed.append("title")
    if "settings" in fields:
        value = fields["settings"]
        if isinstance(value, dict):
            # A secret left out (or empty) keeps the one kept before: output never shows it to send back.
            secrets = backend_class(prelabeler.backend).secret_settings
            value = {
                **{k: prelabeler.settings[k] for k in secrets if prelabeler.settings.get(k)},
                **{k: v for k, v in value.items() if not (k in secrets and not v)},
            }
        prelabeler.settings = checked_settings(prelabeler.backend, value)
        changed.append("settings")
    for name in ("run_on_import", "is_active"):
        if name in fields:
            setattr(prelabeler, name, validation.flag(fields[name], field=name))
            changed.append(name)
    if "settings" in changed or ("is_active" in changed and prelabeler.is_active):
        _check_fit(prelabeler)
    with transaction.atomic():
        # Only the fields sent: a worker writes the fit's fields of the same row meanwhile.
        prelabeler.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=user,
            organization=prelabeler.project.organization_id,
            action="prelabeler.update",
            obj=prelabeler,
            details={"fields": changed},
        )
    return prelabeler


def prelabeler_model_dir(prelabeler_id: int) -> Path:
    """Where a pre-labeler's fitted models live (``Backend.model_dir`` of its backend)."""
    return Path(django_settings.DATA_DIR) / "models" / "prelabelers" / str(prelabeler_id)


def prelabeler_delete(*, prelabeler: Prelabeler, user: User) -> None:
    """Delete the pre-labeler and its jobs (a running one stops at its next batch: its row is gone) and,
    after the commit, its fitted models. Its predictions stay, without a pre-labeler."""
    prelabeler_id = prelabeler.pk
    with transaction.atomic():
        audit_record(
            actor=user,
            organization=prelabeler.project.organization_id,
            action="prelabeler.delete",
            obj=prelabeler,
            details={
                "project": prelabeler.project_id,
                "backend": prelabeler.backend,
                "title": prelabeler.title,
            },
        )
        prelabeler.delete()
        transaction.on_commit(partial(shutil.rmtree, prelabeler_model_dir(prelabeler_id), ignore_errors=True))


@dataclass
class TestAnswer:
    task_id: int
    model_version: str
    result: list[dict[str, Any]]
    score: float | None
    uncertainty: float | None
    dropped: str | None


def prelabeler_test(*, prelabeler: Prelabeler, task_id: object) -> TestAnswer:
    """The backend's answer for one task of the project, checked as a job checks it; nothing is written."""
    from annotation.results import ResultValidator
    from training.services.prelabel_jobs import outputs_check

    task_pk = validation.object_id(task_id, field="task")
    data = (
        Task.objects.filter(pk=task_pk, project_id=prelabeler.project_id)
        .values_list("data", flat=True)
        .first()
    )
    if data is None:
        raise ApplicationError(_("Not a task of this project."), field="task", code="unknown_task")
    backend = backend_for(prelabeler)
    if backend.learns and prelabeler.fitted_at is None:
        raise Conflict(_("This pre-labeler has not been fitted yet: run a job first."), code="not_fitted")
    task = TaskInput(task_pk, data)
    try:
        backend.check()
        outputs = backend.predict([task])
        version = backend.model_version()
    except BackendUnfit as exc:
        raise ApplicationError(exc.message, field=exc.field) from exc
    except Exception as exc:
        raise ApplicationError(
            _("The backend failed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"[:1000]},
            code="backend_error",
            status=502,
        ) from exc
    checked = outputs_check(outputs, [task], validator=ResultValidator(backend.schema))
    if checked.predictions:
        output, _text = checked.predictions[0]
        return TestAnswer(task_pk, version, output.result, output.score, output.uncertainty, None)
    reason = checked.dropped[0].reason if checked.dropped else "the backend gave no answer"
    return TestAnswer(task_pk, version, [], None, None, reason)
