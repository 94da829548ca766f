"""Role checks. Scoping to the organization happens in selectors; here we decide what a role may do."""

from django.utils.translation import gettext as _

from tessera.errors import PermissionDenied
from tessera.models import ROLE_RANK, Membership, Role
from tessera.request_types import AuthenticatedRequest
from tessera.selectors import membership_for


def caller_membership(request: AuthenticatedRequest) -> Membership:
    """The caller's membership of their active organization; a user with none may do nothing."""
    membership = membership_for(user=request.user)
    if membership is None:
        raise PermissionDenied(_("You are not a member of any organization."), code="no_organization")
    return membership


def require_role(request: AuthenticatedRequest, minimum: Role, *, action: str) -> Membership:
    membership = caller_membership(request)
    if membership.rank < ROLE_RANK[minimum]:
        raise PermissionDenied(
            _("Your role (%(role)s) may not %(action)s; it needs %(value)s or above.")
            % {"role": membership.role, "action": action, "value": minimum.value},
            code="role_too_low",
        )
    return membership
