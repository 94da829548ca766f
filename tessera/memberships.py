"""Writes for the members of an organization: add, change role, deactivate, reactivate.

The rules, in one place:
- the caller acts within their own rank: nobody grants or sets a role above their own, nor changes or
  deactivates a member whose role is above their own;
- the last active owner of an organization can be neither demoted nor deactivated (409 ``last_owner``);
- deactivating keeps the row and the member's work (annotations, drafts stay); their access to the
  organization stops (``membership_for`` reads active memberships only), and their active organization
  moves to another one they are active in, or none.

Every write takes the organization's row lock first, so two admins changing members of one organization
at once are serialised: without it, two owners demoting each other at the same instant would each see
the other still an owner and leave the organization with none.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from tessera.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from tessera.models import ROLE_RANK, Membership, Organization, Role, User, max_length_of
from tessera.selectors import membership_forget
from tessera.services import audit_record


def role_value(role: object, *, field: str = "role") -> Role:
    if not isinstance(role, str) or role not in Role.values:
        raise ApplicationError(
            _("role must be one of: %(roles)s.") % {"roles": ", ".join(Role.values)}, field=field
        )
    return Role(role)


def email_value(email: object, *, field: str = "email") -> str:
    if not isinstance(email, str):
        raise ApplicationError(_("email must be an e-mail address."), field=field)
    email = User.objects.normalize_email(email.strip())
    limit = min(max_length_of(User, name) for name in ("email", "username"))
    if len(email) > limit:
        raise ApplicationError(
            _("The e-mail address may be at most %(limit)d characters.") % {"limit": limit}, field=field
        )
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(_("This is not an e-mail address."), field=field) from None
    return email


def may_grant(actor: Membership, role: Role, *, field: str = "role") -> None:
    """Nobody grants a role above their own."""
    if ROLE_RANK[role] > actor.rank:
        raise PermissionDenied(
            _("You may not grant the role %(role)s, which is above your own (%(own)s).")
            % {"role": role.value, "own": actor.role},
            field=field,
            code="role_above_own",
        )


def _may_change(actor: Membership, target: Membership) -> None:
    """Nobody changes or deactivates a member whose role is above their own."""
    if target.rank > actor.rank:
        raise PermissionDenied(
            _("You may not change a member whose role (%(role)s) is above your own (%(own)s).")
            % {"role": target.role, "own": actor.role},
            code="member_above_own",
        )


def _lock_organization(organization_id: int) -> None:
    Organization.objects.select_for_update().filter(pk=organization_id).values_list("pk", flat=True).first()


def _locked_membership(organization_id: int, user_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(organization_id=organization_id, user_id=user_id)
        .first()
    )
    if membership is None:
        raise NotFound(_("Member not found."))
    return membership


def _refuse_last_owner(target: Membership) -> None:
    """Called under the organization's lock, before ``target`` stops being an active owner."""
    if target.role != Role.OWNER or not target.is_active:
        return
    others = Membership.objects.filter(
        organization_id=target.organization_id, role=Role.OWNER, is_active=True
    ).exclude(pk=target.pk)
    if not others.exists():
        raise Conflict(
            _("This is the organization's last owner: make another member owner first."),
            code="last_owner",
        )


@transaction.atomic
def membership_add(
    *, actor: Membership, email: object, role: object = Role.ANNOTATOR
) -> tuple[Membership, bool]:
    """Add an existing user to the actor's organization, or reactivate a deactivated member.

    Returns (membership, created). An e-mail with no account is a 400 naming ``email``: such a person
    gets an invitation, which makes their account.
    """
    role = role_value(role)
    email = email_value(email)
    may_grant(actor, role)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise ApplicationError(
            _("No account has this e-mail address; send an invitation instead."),
            field="email",
            code="unknown_user",
        )
    _lock_organization(actor.organization_id)
    membership = (
        Membership.objects.select_for_update()
        .filter(organization_id=actor.organization_id, user=user)
        .first()
    )
    if membership is not None and membership.is_active:
        raise Conflict(_("This person is already a member."), field="email", code="already_member")
    created = membership is None
    if membership is None:
        membership = Membership.objects.create(organization_id=actor.organization_id, user=user, role=role)
    else:
        membership.is_active = True
        membership.role = role
        membership.save(update_fields=["is_active", "role"])
    if user.active_organization_id is None:
        user.active_organization_id = actor.organization_id
        user.save(update_fields=["active_organization"])
    audit_record(
        actor=actor.user,
        organization=actor.organization_id,
        action="membership.add" if created else "membership.reactivate",
        obj=membership,
        details={"user": user.pk, "email": user.email, "role": role.value},
    )
    membership.user = user
    return membership, created


@transaction.atomic
def membership_role_change(*, actor: Membership, user_id: int, role: object) -> Membership:
    role = role_value(role)
    may_grant(actor, role)
    _lock_organization(actor.organization_id)
    membership = _locked_membership(actor.organization_id, user_id)
    _may_change(actor, membership)
    if membership.role == role:
        return membership
    if role != Role.OWNER:
        _refuse_last_owner(membership)
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    membership_forget(user=membership.user)
    audit_record(
        actor=actor.user,
        organization=actor.organization_id,
        action="membership.role_change",
        obj=membership,
        details={"user": user_id, "from": previous, "to": role.value},
    )
    return membership


@transaction.atomic
def membership_deactivate(*, actor: Membership, user_id: int) -> Membership:
    """Deactivate a member: their access to this organization stops, their work stays."""
    _lock_organization(actor.organization_id)
    membership = _locked_membership(actor.organization_id, user_id)
    _may_change(actor, membership)
    if not membership.is_active:
        return membership
    _refuse_last_owner(membership)
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    user = User.objects.select_for_update().get(pk=membership.user_id)
    if user.active_organization_id == actor.organization_id:
        user.active_organization_id = (
            Membership.objects.filter(user=user, is_active=True)
            .order_by("organization_id")
            .values_list("organization_id", flat=True)
            .first()
        )
        user.save(update_fields=["active_organization"])
    # Tasks the member held in this organization go back to the queue now, not when their locks expire.
    # Imported here: the annotation app builds on this one, not the other way round.
    from annotation.models import TaskLock

    TaskLock.objects.filter(user_id=user.pk, task__project__organization_id=actor.organization_id).delete()
    membership_forget(user=membership.user)
    if actor.user_id == user.pk:
        membership_forget(user=actor.user)
    audit_record(
        actor=actor.user,
        organization=actor.organization_id,
        action="membership.deactivate",
        obj=membership,
        details={"user": user.pk, "email": user.email, "role": membership.role},
    )
    membership.user = user
    return membership
