"""Invitations to an organization: made and revoked by managers and above (for roles up to their own),
accepted once through a link.

The link carries a random token; only its SHA-256 digest is stored, as for API tokens, so the link is
known to the admin who made it (shown once) and to the mailbox it went to. Accepting locks the invitation's
row and checks it is still pending under that lock: of two accepts at the same instant, one wins and the
other finds it used, and nothing of the loser is written.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tessera.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from tessera.memberships import email_value, may_grant, role_value
from tessera.models import ROLE_RANK, Invitation, Membership, Role, User, max_length_of
from tessera.selectors import invitation_state, membership_forget
from tessera.services import audit_record

logger = logging.getLogger(__name__)

INVITE_PATH = "/invite/{token}/"


class InvitationClosed(ApplicationError):
    """The link was used, revoked or has expired: 410, with the state as the code."""

    status = 410


def invitation_url(*, token: str, request_base: str) -> str:
    """The absolute accept link: on TESSERA_PUBLIC_URL when set, else on the host the request came to."""
    base = settings.TESSERA_PUBLIC_URL or request_base.rstrip("/")
    return base + INVITE_PATH.format(token=token)


def _revoke(invitation: Invitation, *, actor: User | None, reason: str) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        organization=invitation.organization_id,
        action="invitation.revoke",
        obj=invitation,
        details={"email": invitation.email, "role": invitation.role, "reason": reason},
    )


@transaction.atomic
def invitation_create(
    *, actor: Membership, email: object, role: object = Role.ANNOTATOR
) -> tuple[Invitation, str]:
    """Make an invitation and return it with its token, the only time the token is known.

    An earlier pending invitation of the same address to the same organization is revoked: one link
    per person, the newest.
    """
    role = role_value(role)
    email = email_value(email)
    may_grant(actor, role)
    if Membership.objects.filter(
        organization_id=actor.organization_id, user__email__iexact=email, is_active=True
    ).exists():
        raise Conflict(_("This person is already a member."), field="email", code="already_member")
    earlier = Invitation.objects.select_for_update().filter(
        organization_id=actor.organization_id,
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    for invitation in earlier:
        # Replacing revokes, so the revoker's rule holds: a manager may not undo an admin's invitation
        # of a higher role by inviting the same address again.
        if ROLE_RANK[Role(invitation.role)] > actor.rank:
            raise PermissionDenied(
                _("A pending invitation to this address is for the role %(role)s, above your own (%(own)s).")
                % {"role": invitation.role, "own": actor.role},
                field="email",
                code="invitation_above_own",
            )
        _revoke(invitation, actor=actor.user, reason="replaced")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization_id=actor.organization_id,
        email=email,
        role=role,
        digest=Invitation.digest_of(token),
        invited_by=actor.user,
        expires_at=timezone.now() + timedelta(hours=settings.TESSERA_INVITE_TTL_HOURS),
    )
    audit_record(
        actor=actor.user,
        organization=actor.organization_id,
        action="invitation.create",
        obj=invitation,
        details={"email": email, "role": role.value},
    )
    return invitation, token


def invitation_send(*, invitation: Invitation, url: str) -> bool:
    """Send the link by e-mail through Django's mail backend; False (and logged) when sending fails,
    since the invitation stands and its link is in the admin's answer anyway."""
    organization = invitation.organization.title
    inviter = invitation.invited_by
    subject = _("You are invited to join %(organization)s on Tessera") % {"organization": organization}
    body = _(
        "%(inviter)s invites you to join %(organization)s on Tessera as %(role)s.\n\n"
        "Open this link to accept (it works once, until %(expires)s UTC):\n%(url)s\n"
    ) % {
        "inviter": (inviter.get_full_name() or inviter.email) if inviter else _("An administrator"),
        "organization": organization,
        "role": invitation.role,
        "expires": invitation.expires_at.strftime("%Y-%m-%d %H:%M"),
        "url": url,
    }
    try:
        send_mail(subject, body, None, [invitation.email])
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; a bad header is a ValueError
        logger.warning("Invitation %s: e-mail not sent: %s", invitation.pk, exc)
        return False
    return True


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update()
        .filter(organization_id=actor.organization_id, pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFound(_("Invitation not found."))
    state = invitation_state(invitation)
    if state != "pending":
        raise Conflict(
            _("This invitation is %(state)s; only a pending one can be revoked.") % {"state": state},
            code="not_pending",
        )
    may_grant(actor, Role(invitation.role))
    _revoke(invitation, actor=actor.user, reason="revoked")
    return invitation


def _pending_locked(token: str) -> Invitation:
    """The invitation of a link, locked; 404 for a link that names none, 410 for one that is closed."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(digest=Invitation.digest_of(token))
        .first()
    )
    if invitation is None:
        raise NotFound(_("This invitation link is not valid."), code="unknown_invitation")
    state = invitation_state(invitation)
    if state != "pending":
        raise InvitationClosed(_("This invitation is %(state)s.") % {"state": state}, code=state)
    return invitation


def _accepted(invitation: Invitation, user: User, membership: Membership, *, created_user: bool) -> None:
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit_record(
        actor=user,
        organization=invitation.organization_id,
        action="invitation.accept",
        obj=invitation,
        details={
            "email": invitation.email,
            "role": membership.role,
            "user": user.pk,
            "created_user": created_user,
        },
    )


def _name(value: object, *, field: str) -> str:
    if not isinstance(value, str):
        raise ApplicationError(_("This field must be text."), field=field)
    value = value.strip()
    limit = max_length_of(User, field)
    if len(value) > limit:
        raise ApplicationError(
            _("This field may be at most %(limit)d characters.") % {"limit": limit}, field=field
        )
    return value


@transaction.atomic
def invitation_accept_new_user(
    *, token: str, first_name: object, last_name: object, password: object
) -> User:
    """Accept with a new account: the user, their membership and the acceptance, in one transaction."""
    first_name = _name(first_name, field="first_name")
    if not first_name:
        raise ApplicationError(_("Enter your name."), field="first_name", code="required")
    last_name = _name(last_name, field="last_name")
    if not isinstance(password, str) or not password:
        raise ApplicationError(_("Choose a password."), field="password", code="required")
    invitation = _pending_locked(token)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise Conflict(
            _("An account with this e-mail address exists: sign in to accept."), code="account_exists"
        )
    user = User(
        email=invitation.email,
        username=invitation.email,
        first_name=first_name,
        last_name=last_name,
        active_organization_id=invitation.organization_id,
    )
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="password", code="weak_password") from None
    user.set_password(password)
    user.save()
    membership = Membership.objects.create(
        organization_id=invitation.organization_id, user=user, role=invitation.role
    )
    audit_record(
        actor=user,
        organization=invitation.organization_id,
        action="user.create",
        obj=user,
        details={"role": invitation.role, "via": "invitation"},
    )
    _accepted(invitation, user, membership, created_user=True)
    return user


@transaction.atomic
def invitation_accept_existing(*, token: str, user: User) -> Membership:
    """Accept as the signed-in account the invitation is for: join, or come back to, the organization.

    A member already active keeps the higher of their role and the invited one: an invitation never
    demotes anyone.
    """
    invitation = _pending_locked(token)
    if user.email.lower() != invitation.email.lower():
        raise PermissionDenied(_("This invitation is for another e-mail address."), code="wrong_account")
    membership = (
        Membership.objects.select_for_update()
        .filter(organization_id=invitation.organization_id, user=user)
        .first()
    )
    invited = Role(invitation.role)
    if membership is None:
        membership = Membership.objects.create(
            organization_id=invitation.organization_id, user=user, role=invited
        )
    else:
        if not membership.is_active or ROLE_RANK[invited] > membership.rank:
            membership.role = invited
        membership.is_active = True
        membership.save(update_fields=["role", "is_active"])
    user.active_organization_id = invitation.organization_id
    user.save(update_fields=["active_organization"])
    membership_forget(user=user)
    _accepted(invitation, user, membership, created_user=False)
    return membership
