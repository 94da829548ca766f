"""Reads for organizations, members, tokens, sign-in throttling and readiness."""

import math
import os
import time
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera import validation
from tessera.errors import ApplicationError, NotFound
from tessera.models import ApiToken, AuthFailureCount, Invitation, Membership, Role, User


def membership_for(*, user: User) -> Membership | None:
    """The caller's membership of their active organization, or None when they have none.

    Cached on the user object for the request, since every permission check asks.
    """
    if hasattr(user, "_tessera_membership"):
        return user._tessera_membership
    membership = None
    if user.is_authenticated and user.active_organization_id is not None:
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, organization_id=user.active_organization_id, is_active=True)
            .first()
        )
    user._tessera_membership = membership
    return membership


def membership_forget(*, user: User) -> None:
    """Drop the membership cached by membership_for, after the active organization changed."""
    if hasattr(user, "_tessera_membership"):
        del user._tessera_membership


def memberships_of(*, user: User) -> list[Membership]:
    return list(
        Membership.objects.select_related("organization")
        .filter(user=user, is_active=True)
        .order_by("organization_id")
    )


def readiness() -> dict[str, bool]:
    """Whether the database and the Celery broker answer, each with a short timeout."""
    from django.db import connection

    from tessera.celery import app

    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = True
    except Exception:  # noqa: BLE001 - any failure means "not ready", and the probe must answer, not 500
        checks["database"] = False
    try:
        with app.connection_for_write() as broker:
            if broker.transport_cls == "filesystem":
                # A file broker "connects" whatever the disk says; what it needs is its folders.
                folders = [
                    Path(path)
                    for key, path in (broker.transport_options or {}).items()
                    if key.endswith("_folder_in")
                ]
                checks["broker"] = all(folder.is_dir() and os.access(folder, os.W_OK) for folder in folders)
            else:
                broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
                checks["broker"] = True
    except Exception:  # noqa: BLE001 - as above
        checks["broker"] = False
    return checks


def auth_failure_window() -> tuple[int, int]:
    """(number of the current failure-count window, seconds until it ends)."""
    length = settings.TESSERA_AUTH_FAILURE_WINDOW_SECONDS
    now = time.time()
    window = int(now // length)
    return window, max(1, math.ceil((window + 1) * length - now))


def auth_throttle_wait(*, account: str = "", address: str) -> int | None:
    """Seconds to wait when this account or this address has used up its failures, else None.

    Asked before any password is hashed, so a throttled attempt costs one indexed read.
    """
    limits = {f"address:{address}": settings.TESSERA_AUTH_FAILURES_PER_ADDRESS}
    if account:
        limits[f"account:{account}"] = settings.TESSERA_AUTH_FAILURES_PER_ACCOUNT
    window, remaining = auth_failure_window()
    for key, failures in AuthFailureCount.objects.filter(key__in=list(limits), window=window).values_list(
        "key", "failures"
    ):
        if failures >= limits[key]:
            return remaining
    return None


def auth_keys(*, account: str = "", address: str) -> list[str]:
    return [f"address:{address}", *([f"account:{account}"] if account else [])]


def printable(text: str, *, limit: int) -> str:
    """Text from a request, fit for a key and an audit row: no NUL or control characters, which
    PostgreSQL's text and jsonb refuse or logs misread, and at most ``limit`` characters."""
    return "".join(char for char in text if char.isprintable())[:limit]


def client_address(request: HttpRequest) -> str:
    """The client's IP address: the peer's, or the one TESSERA_NUM_PROXIES proxies in front of us saw."""
    proxies = settings.TESSERA_NUM_PROXIES
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if forwarded:
            return printable(forwarded[-min(proxies, len(forwarded))], limit=100)
    return printable(request.META.get("REMOTE_ADDR", ""), limit=100)


def api_tokens_of(*, user: User) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("-created_at", "-pk"))


def membership_in(*, user: User, organization_id: object) -> Membership:
    """The caller's active membership of the organization a path names; 404 when they have none, so
    that an organization's id tells an outsider nothing."""
    try:
        organization_id = validation.object_id(organization_id, field="organization")
    except ApplicationError:
        raise NotFound(_("Organization not found.")) from None
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization_id=organization_id, is_active=True)
        .first()
    )
    if membership is None:
        raise NotFound(_("Organization not found."))
    membership.user = user
    return membership


def _flag(raw: str | None, *, field: str) -> bool:
    if raw is None or raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise ApplicationError(_("%(field)s must be true or false.") % {"field": field}, field=field)


SEARCH_MAX_CHARS = 200


def membership_list(
    *,
    organization_id: int,
    role: str | None = None,
    search: str | None = None,
    include_inactive: str | None = None,
) -> QuerySet[Membership]:
    """Members of an organization with their users, oldest first; filters as the query string sent them."""
    rows = Membership.objects.select_related("user").filter(organization_id=organization_id)
    if not _flag(include_inactive, field="include_inactive"):
        rows = rows.filter(is_active=True)
    if role:
        if role not in Role.values:
            raise ApplicationError(
                _("role must be one of: %(values)s.") % {"values": ", ".join(Role.values)}, field="role"
            )
        rows = rows.filter(role=role)
    if search:
        search = search.strip()
        if len(search) > SEARCH_MAX_CHARS:
            raise ApplicationError(
                _("search may be at most %(limit)s characters.") % {"limit": SEARCH_MAX_CHARS},
                field="search",
            )
        validation.check_text(search, field="search")
        rows = rows.filter(
            Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    return rows.order_by("pk")


def membership_get(*, organization_id: int, user_id: object) -> Membership:
    try:
        user_id = validation.object_id(user_id, field="user")
    except ApplicationError:
        raise NotFound(_("Member not found.")) from None
    membership = (
        Membership.objects.select_related("user")
        .filter(organization_id=organization_id, user_id=user_id)
        .first()
    )
    if membership is None:
        raise NotFound(_("Member not found."))
    return membership


INVITATION_STATES = ("pending", "accepted", "revoked", "expired", "all")


def invitation_list(*, organization_id: int, state: str | None = None) -> QuerySet[Invitation]:
    """An organization's invitations, newest first: the pending ones unless ``state`` says otherwise."""
    state = state or "pending"
    if state not in INVITATION_STATES:
        raise ApplicationError(
            _("state must be one of: %(values)s.") % {"values": ", ".join(INVITATION_STATES)}, field="state"
        )
    rows = Invitation.objects.select_related("invited_by").filter(organization_id=organization_id)
    now = timezone.now()
    if state == "pending":
        rows = rows.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
    elif state == "accepted":
        rows = rows.filter(accepted_at__isnull=False)
    elif state == "revoked":
        rows = rows.filter(revoked_at__isnull=False)
    elif state == "expired":
        rows = rows.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
    return rows.order_by("-created_at", "-pk")


def invitation_get(*, organization_id: int, invitation_id: object) -> Invitation:
    try:
        invitation_id = validation.object_id(invitation_id, field="invitation")
    except ApplicationError:
        raise NotFound(_("Invitation not found.")) from None
    invitation = Invitation.objects.filter(organization_id=organization_id, pk=invitation_id).first()
    if invitation is None:
        raise NotFound(_("Invitation not found."))
    return invitation


def invitation_by_token(*, token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(digest=Invitation.digest_of(token))
        .first()
    )


def invitation_state(invitation: Invitation, *, now: datetime | None = None) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= (now or timezone.now()):
        return "expired"
    return "pending"
