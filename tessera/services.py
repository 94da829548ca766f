"""Writes for organizations, members and tokens. Each write records an audit event."""

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera import validation
from tessera.errors import ApplicationError, NotFound
from tessera.models import (
    ApiToken,
    AuditEvent,
    AuthFailureCount,
    Membership,
    Organization,
    Role,
    User,
    max_length_of,
)
from tessera.rows import ModelRows
from tessera.selectors import auth_failure_window, auth_keys

MAX_TOKEN_EXPIRY_DAYS = 3650
_AUDIT_ROWS = ModelRows(AuditEvent)


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
    # Written out (tessera/rows.py): every submit and skip writes one, and the ORM's save costs
    # several times the INSERT itself.
    return _AUDIT_ROWS.insert(
        AuditEvent(
            organization_id=organization_id,
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=details or {},
        )
    )


@transaction.atomic
def organization_get_or_create(*, title: str) -> Organization:
    title = title.strip()
    if not title:
        raise ApplicationError(_("Organization name must not be empty."), field="org", code="required")
    limit = max_length_of(Organization, "title")
    if len(title) > limit:
        raise ApplicationError(
            _("Organization name may be at most %(limit)s characters.") % {"limit": limit}, field="org"
        )
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
        raise ApplicationError(
            _("Unknown role %(role)r; use one of %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)},
            field="role",
        )
    email = User.objects.normalize_email(email.strip())
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(
            _("%(email)r is not an e-mail address.") % {"email": email}, field="email"
        ) from None
    # username mirrors the e-mail address, so the shorter of the two columns bounds both.
    limit = min(max_length_of(User, name) for name in ("email", "username"))
    if len(email) > limit:
        raise ApplicationError(
            _("The e-mail address may be at most %(limit)s characters.") % {"limit": limit}, field="email"
        )
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if user is None:
        user = User(email=email, username=email)
        user.set_unusable_password()
    if password:
        user.set_password(password)
    if user.active_organization_id is None:
        user.active_organization = organization
    user.save()
    membership, _created = Membership.objects.update_or_create(
        organization=organization, user=user, defaults={"role": role, "is_active": True}
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
    _token, key = api_token_issue(user=user, name=name)
    return key


def _expiry(expires_in_days: Any) -> Any:
    if expires_in_days is None:
        return None
    if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int):
        raise ApplicationError(_("expires_in_days must be a whole number of days."), field="expires_in_days")
    if not 1 <= expires_in_days <= MAX_TOKEN_EXPIRY_DAYS:
        raise ApplicationError(
            _("expires_in_days must be between 1 and %(limit)s.") % {"limit": MAX_TOKEN_EXPIRY_DAYS},
            field="expires_in_days",
        )
    return timezone.now() + timedelta(days=expires_in_days)


@transaction.atomic
def api_token_issue(*, user: User, name: Any = "", expires_in_days: Any = None) -> tuple[ApiToken, str]:
    """Make a token, optionally expiring, and return it with its key: the only time the key is known."""
    if not isinstance(name, str):
        raise ApplicationError(_("name must be text."), field="name")
    limit = max_length_of(ApiToken, "name")
    if len(name) > limit:
        raise ApplicationError(
            _("name may be at most %(limit)s characters.") % {"limit": limit}, field="name"
        )
    expires_at = _expiry(expires_in_days)
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user, digest=ApiToken.digest_of(key), prefix=key[:8], name=name.strip(), expires_at=expires_at
    )
    audit_record(
        actor=user,
        organization=user.active_organization_id,
        action="token.create",
        obj=token,
        details={"expires_at": expires_at.isoformat() if expires_at else None},
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the caller's own tokens; someone else's is not found, whatever their organization."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound(_("Token not found."))
    audit_record(
        actor=user,
        organization=user.active_organization_id,
        action="token.revoke",
        obj=token,
        details={"prefix": token.prefix},
    )
    token.delete()


@transaction.atomic
def api_token_reset(*, user: User) -> str:
    """Label Studio's token reset: a user has one token there, so every token of the user is revoked
    and one new key comes back."""
    revoked = list(ApiToken.objects.select_for_update().filter(user=user).values_list("prefix", flat=True))
    ApiToken.objects.filter(user=user).delete()
    audit_record(
        actor=user,
        organization=user.active_organization_id,
        action="token.reset",
        details={"revoked": revoked},
    )
    _token, key = api_token_issue(user=user, name="reset")
    return key


def _count_failure(key: str, window: int) -> int:
    """Add one failure to ``key``'s count in ``window`` and return the new count.

    A conditional UPDATE, with an INSERT for the window's first failure; two first failures at once
    both try the INSERT, and the loser counts with the UPDATE instead. The UPDATE locks the row until
    the caller's transaction ends, so concurrent attempts each read a different count.
    """
    rows = AuthFailureCount.objects.filter(key=key, window=window)
    if not rows.update(failures=F("failures") + 1):
        try:
            with transaction.atomic():
                AuthFailureCount.objects.create(key=key, window=window, failures=1)
        except IntegrityError:
            rows.update(failures=F("failures") + 1)
    # Earlier windows no longer decide anything.
    AuthFailureCount.objects.filter(key=key, window__lt=window).delete()
    return rows.values_list("failures", flat=True).get()


def auth_attempt_reserve(*, account: str, address: str) -> int | None:
    """Count a sign-in attempt as failed before its password is checked; seconds to wait if over a limit.

    Counting first, under the row lock, is what bounds the password checks of a burst of parallel
    attempts: each reads a different count, so only the first ``limit`` of them go on to PBKDF2. A
    correct password takes its count back (``auth_attempt_release``).
    """
    window, remaining = auth_failure_window()
    limits = {f"address:{address}": settings.TESSERA_AUTH_FAILURES_PER_ADDRESS}
    if account:
        limits[f"account:{account}"] = settings.TESSERA_AUTH_FAILURES_PER_ACCOUNT
    with transaction.atomic():
        over = [key for key, limit in limits.items() if _count_failure(key, window) > limit]
    return remaining if over else None


def auth_attempt_release(*, account: str, address: str) -> None:
    window, _ = auth_failure_window()
    AuthFailureCount.objects.filter(
        key__in=auth_keys(account=account, address=address), window=window, failures__gt=0
    ).update(failures=F("failures") - 1)


def auth_failure_record(
    *,
    keys: list[str],
    via: str,
    address: str,
    account: str = "",
    user: User | None = None,
    count: bool = True,
) -> None:
    """Audit one failed sign-in or token check, and count it against each key unless already counted."""
    window, _ = auth_failure_window()
    with transaction.atomic():
        if count:
            for key in keys:
                _count_failure(key, window)
        audit_record(
            actor=None,
            organization=user.active_organization_id if user is not None else None,
            action=f"auth.{via}_failed",
            object_type="tessera.user" if user is not None else "",
            object_id=user.pk if user is not None else None,
            details={"account": account, "address": address},
        )


def auth_throttled_record(*, via: str, address: str, account: str = "", retry_after: int) -> None:
    audit_record(
        actor=None,
        organization=None,
        action=f"auth.{via}_throttled",
        details={"account": account, "address": address, "retry_after": retry_after},
    )


@transaction.atomic
def user_switch_organization(*, user: User, organization_id: object) -> Organization:
    """Make one of the user's organizations the active one; ``organization_id`` as the request sent it."""
    if isinstance(organization_id, bool) or not isinstance(organization_id, int):
        raise ApplicationError(_("organization must be an organization id."), field="organization")
    organization_id = validation.object_id(organization_id, field="organization")
    membership = Membership.objects.filter(user=user, organization_id=organization_id, is_active=True).first()
    if membership is None:
        raise ApplicationError(
            _("Organization not found."), field="organization", code="not_found", status=404
        )
    user.active_organization_id = organization_id
    user.save(update_fields=["active_organization"])
    audit_record(
        actor=user, organization=organization_id, action="organization.switch", obj=membership.organization
    )
    return membership.organization
