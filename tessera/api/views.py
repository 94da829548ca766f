"""The caller and their organizations."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tessera.api import schemas
from tessera.api.base import json_object
from tessera.selectors import membership_for, memberships_of
from tessera.services import user_switch_organization


def _user_out(user, membership) -> dict:
    return {
        "id": user.pk,
        "email": user.email,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "active_organization": user.active_organization_id,
        "role": membership.role if membership else None,
    }


class WhoAmIView(APIView):
    @extend_schema(responses={200: schemas.UserOut}, summary="The caller, their active organization and role")
    def get(self, request: Request) -> Response:
        return Response(_user_out(request.user, membership_for(user=request.user)))


class OrganizationListView(APIView):
    @extend_schema(
        responses={200: schemas.OrganizationOut(many=True)},
        summary="Organizations the caller belongs to, with their role",
    )
    def get(self, request: Request) -> Response:
        return Response(
            [
                {
                    "id": membership.organization_id,
                    "title": membership.organization.title,
                    "role": membership.role,
                    "active": membership.organization_id == request.user.active_organization_id,
                }
                for membership in memberships_of(user=request.user)
            ]
        )


class OrganizationSwitchView(APIView):
    @extend_schema(
        request=schemas.OrganizationSwitchIn,
        responses={200: schemas.UserOut, 400: schemas.ErrorOut, 404: schemas.ErrorOut},
        summary="Switch the active organization",
    )
    def post(self, request: Request) -> Response:
        body = json_object(request)
        user_switch_organization(user=request.user, organization_id=body.get("organization"))
        request.user._tessera_membership = False
        return Response(_user_out(request.user, membership_for(user=request.user)))
