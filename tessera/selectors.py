"""Reads for organizations and members."""

from tessera.models import Membership, User


def membership_for(*, user: User) -> Membership | None:
    """The caller's membership of their active organization, or None when they have none.

    Cached on the user object for the request, since every permission check asks.
    """
    cached = getattr(user, "_tessera_membership", False)
    if cached is not False:
        return cached
    membership = None
    if user.is_authenticated and user.active_organization_id is not None:
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, organization_id=user.active_organization_id)
            .first()
        )
    user._tessera_membership = membership
    return membership


def memberships_of(*, user: User) -> list[Membership]:
    return list(Membership.objects.select_related("organization").filter(user=user).order_by("organization_id"))
