"""Writes for organizations, members and tokens. Each write records an audit event."""

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import ApiToken, AuditEvent, Membership, Organization, Role, User


def audit_record(
    *,
    actor: User | None,
    organization: Organization | int | None,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: int | None = None,
    details: dict | None = None,
) -> AuditEvent:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk
    organization_id = organization.pk if isinstance(organization, Organization) else organization
    return AuditEvent.objects.create(
        organization_id=organization_id,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details or {},
    )


@transaction.atomic
def organization_get_or_create(*, title: str) -> Organization:
    title = title.strip()
    if not title:
        raise ApplicationError("Organization name must not be empty.", field="org", code="required")
    limit = Organization._meta.get_field("title").max_length
    if len(title) > limit:
        raise ApplicationError(f"Organization name may be at most {limit} characters.", field="org")
    organization, created = Organization.objects.get_or_create(title=title)
    if created:
        audit_record(actor=None, organization=organization, action="organization.create", obj=organization)
    return organization


@transaction.atomic
def user_upsert(
    *, email: str, organization: Organization, role: str, password: str | None = None
) -> tuple[User, bool]:
    """Create or update a user and their membership of ``organization``; returns (user, created)."""
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role")
    email = User.objects.normalize_email(email.strip())
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(f"{email!r} is not an e-mail address.", field="email") from None
    # username mirrors the e-mail address, so the shorter of the two columns bounds both.
    limit = min(User._meta.get_field(name).max_length for name in ("email", "username"))
    if len(email) > limit:
        raise ApplicationError(f"The e-mail address may be at most {limit} characters.", field="email")
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User(email=email, username=email)
        user.set_unusable_password()
    if password:
        user.set_password(password)
    if user.active_organization_id is None:
        user.active_organization = organization
    user.save()
    membership, _ = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    audit_record(
        actor=None,
        organization=organization,
        action="user.create" if created else "user.update",
        obj=user,
        details={"role": role},
    )
    return user, created


@transaction.atomic
def api_token_create(*, user: User, name: str = "") -> str:
    """Make a new token for ``user`` and return its key; only its digest is kept."""
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(user=user, digest=ApiToken.digest_of(key), prefix=key[:8], name=name)
    audit_record(actor=user, organization=user.active_organization_id, action="token.create", obj=token)
    return key


@transaction.atomic
def user_switch_organization(*, user: User, organization_id: int) -> Organization:
    if isinstance(organization_id, bool) or not isinstance(organization_id, int):
        raise ApplicationError("organization must be an organization id.", field="organization")
    organization_id = validation.object_id(organization_id, field="organization")
    membership = Membership.objects.filter(user=user, organization_id=organization_id).first()
    if membership is None:
        raise ApplicationError("Organization not found.", field="organization", code="not_found", status=404)
    user.active_organization_id = organization_id
    user.save(update_fields=["active_organization"])
    audit_record(
        actor=user, organization=organization_id, action="organization.switch", obj=membership.organization
    )
    return membership.organization
