"""Members and invitations of an organization: ``/api/organizations/{id}/memberships/`` and ``…/invites/``.

The organization in the path must be one the caller is an active member of, else 404. Reading members
and invitations, inviting and revoking invitations take manager or above (an invitation's role never
above the caller's own: ``may_grant``); adding, changing and deactivating members directly, admin or
above. The rules about ranks and the last owner live in ``tessera.memberships``.
"""

from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from tessera import invitations, memberships, selectors
from tessera.api import schemas
from tessera.api.base import json_object, page_params
from tessera.api.output import invitation_out, membership_out
from tessera.errors import ApplicationError, PermissionDenied
from tessera.models import ROLE_RANK, Membership, Role
from tessera.request_types import AuthenticatedRequest

ERRORS = schemas.ErrorOut
Row = TypeVar("Row", bound=Model)


def _caller(request: AuthenticatedRequest, organization_id: str, minimum: Role, *, action: str) -> Membership:
    membership = selectors.membership_in(user=request.user, organization_id=organization_id)
    if membership.rank < ROLE_RANK[minimum]:
        raise PermissionDenied(
            _("Your role (%(role)s) may not %(action)s; it needs %(value)s or above.")
            % {"role": membership.role, "action": action, "value": minimum.value},
            code="role_too_low",
        )
    return membership


def _only(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApplicationError(_("Unknown field %(field)r.") % {"field": unknown[0]}, field=unknown[0])


def _page(request: AuthenticatedRequest, rows: QuerySet[Row], render: Callable[[Row], dict]) -> dict:
    page, page_size = page_params(request, default_size=100)
    total = rows.count()
    return {
        "count": total,
        "next": None if page * page_size >= total else page + 1,
        "previous": page - 1 if page > 1 else None,
        "results": [render(row) for row in rows[(page - 1) * page_size : page * page_size]],
    }


class MembershipListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("role", str, description="Only members of this role."),
            OpenApiParameter("search", str, description="In e-mail, first and last name."),
            OpenApiParameter("include_inactive", bool, description="Also deactivated members."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: schemas.MembershipPageOut, 400: ERRORS, 403: ERRORS, 404: ERRORS},
        summary="Members of an organization (paged: count, results); manager or above",
    )
    def get(self, request: AuthenticatedRequest, organization_id: str) -> Response:
        caller = _caller(request, organization_id, Role.MANAGER, action="list members")
        params = request.query_params
        rows = selectors.membership_list(
            organization_id=caller.organization_id,
            role=params.get("role"),
            search=params.get("search"),
            include_inactive=params.get("include_inactive"),
        )
        return Response(_page(request, rows, membership_out))

    @extend_schema(
        request=schemas.MembershipIn,
        responses={
            200: schemas.MembershipOut,
            201: schemas.MembershipOut,
            400: ERRORS,
            403: ERRORS,
            404: ERRORS,
            409: ERRORS,
        },
        summary="Add an existing user by e-mail (201), or reactivate a deactivated member (200); admin or above",
    )
    def post(self, request: AuthenticatedRequest, organization_id: str) -> Response:
        caller = _caller(request, organization_id, Role.ADMIN, action="add members")
        body = json_object(request)
        _only(body, {"email", "role"})
        membership, created = memberships.membership_add(
            actor=caller, email=body.get("email"), role=body.get("role", Role.ANNOTATOR)
        )
        return Response(
            membership_out(membership), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MembershipDetailView(APIView):
    @extend_schema(
        request=schemas.MembershipRoleIn,
        responses={200: schemas.MembershipOut, 400: ERRORS, 403: ERRORS, 404: ERRORS, 409: ERRORS},
        summary="Change a member's role; admin or above, never above one's own",
    )
    def patch(self, request: AuthenticatedRequest, organization_id: str, user_id: str) -> Response:
        caller = _caller(request, organization_id, Role.ADMIN, action="change members")
        body = json_object(request)
        _only(body, {"role"})
        if "role" not in body:
            raise ApplicationError(_("role is required."), field="role", code="required")
        selectors.membership_get(organization_id=caller.organization_id, user_id=user_id)
        membership = memberships.membership_role_change(actor=caller, user_id=int(user_id), role=body["role"])
        return Response(membership_out(membership))

    @extend_schema(
        responses={204: None, 403: ERRORS, 404: ERRORS, 409: ERRORS},
        summary="Deactivate a member: their access stops, their work stays; admin or above",
    )
    def delete(self, request: AuthenticatedRequest, organization_id: str, user_id: str) -> Response:
        caller = _caller(request, organization_id, Role.ADMIN, action="deactivate members")
        selectors.membership_get(organization_id=caller.organization_id, user_id=user_id)
        memberships.membership_deactivate(actor=caller, user_id=int(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state",
                str,
                enum=list(selectors.INVITATION_STATES),
                description="pending (default), accepted, revoked, expired or all.",
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: schemas.InvitationPageOut, 400: ERRORS, 403: ERRORS, 404: ERRORS},
        operation_id="organizations_invites_list",
        summary="Invitations of an organization, newest first (never their links); manager or above",
    )
    def get(self, request: AuthenticatedRequest, organization_id: str) -> Response:
        caller = _caller(request, organization_id, Role.MANAGER, action="list invitations")
        rows = selectors.invitation_list(
            organization_id=caller.organization_id, state=request.query_params.get("state")
        )
        return Response(_page(request, rows, invitation_out))

    @extend_schema(
        request=schemas.InvitationIn,
        responses={201: schemas.InvitationCreatedOut, 400: ERRORS, 403: ERRORS, 404: ERRORS, 409: ERRORS},
        summary="Invite someone by e-mail; the answer holds the single-use link (shown once); manager or above, "
        "never to a role above one's own",
    )
    def post(self, request: AuthenticatedRequest, organization_id: str) -> Response:
        caller = _caller(request, organization_id, Role.MANAGER, action="invite members")
        body = json_object(request)
        _only(body, {"email", "role", "send_email"})
        send_email = body.get("send_email", True)
        if not isinstance(send_email, bool):
            raise ApplicationError(_("send_email must be true or false."), field="send_email")
        invitation, token = invitations.invitation_create(
            actor=caller, email=body.get("email"), role=body.get("role", Role.ANNOTATOR)
        )
        url = invitations.invitation_url(token=token, request_base=request.build_absolute_uri("/"))
        sent = invitations.invitation_send(invitation=invitation, url=url) if send_email else False
        return Response(
            {**invitation_out(invitation), "url": url, "email_sent": sent}, status=status.HTTP_201_CREATED
        )


class InvitationDetailView(APIView):
    @extend_schema(
        responses={204: None, 403: ERRORS, 404: ERRORS, 409: ERRORS},
        summary="Revoke a pending invitation: its link stops working; manager or above, for roles up to one's own",
    )
    def delete(self, request: AuthenticatedRequest, organization_id: str, invitation_id: str) -> Response:
        caller = _caller(request, organization_id, Role.MANAGER, action="revoke invitations")
        selectors.invitation_get(organization_id=caller.organization_id, invitation_id=invitation_id)
        invitations.invitation_revoke(actor=caller, invitation_id=int(invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
