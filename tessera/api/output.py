"""Response bodies of the tessera app: plain dicts, as in ``annotation/api/output.py``."""

from datetime import datetime

from tessera.models import Invitation, Membership, User
from tessera.selectors import invitation_state


def time_out(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def user_simple_out(user: User | None) -> dict | None:
    """Label Studio's UserSimple: the SDK parses ``created_by`` of a project into it (``username`` required)."""
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.username or user.email,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "avatar": None,
    }


def membership_out(membership: Membership) -> dict:
    return {
        "user": user_simple_out(membership.user),
        "role": membership.role,
        "is_active": membership.is_active,
        "created_at": time_out(membership.created_at),
    }


def invitation_out(invitation: Invitation) -> dict:
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "state": invitation_state(invitation),
        "created_at": time_out(invitation.created_at),
        "expires_at": time_out(invitation.expires_at),
        "accepted_at": time_out(invitation.accepted_at),
        "revoked_at": time_out(invitation.revoked_at),
        "invited_by": user_simple_out(invitation.invited_by),
    }
