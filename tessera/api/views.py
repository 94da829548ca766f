"""The caller, their organizations and their API tokens."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from tessera.api import schemas
from tessera.api.base import json_object
from tessera.errors import ApplicationError
from tessera.models import ApiToken, Membership, User
from tessera.permissions import caller_membership
from tessera.request_types import AuthenticatedRequest
from tessera.selectors import api_tokens_of, membership_for, membership_forget, memberships_of
from tessera.services import api_token_issue, api_token_reset, api_token_revoke, user_switch_organization


def _user_out(user: User, membership: Membership | None) -> dict:
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
    def get(self, request: AuthenticatedRequest) -> Response:
        return Response(_user_out(request.user, membership_for(user=request.user)))


class OrganizationListView(APIView):
    @extend_schema(
        responses={200: schemas.OrganizationOut(many=True)},
        summary="Organizations the caller belongs to, with their role",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
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
    def post(self, request: AuthenticatedRequest) -> Response:
        body = json_object(request)
        user_switch_organization(user=request.user, organization_id=body.get("organization"))
        membership_forget(user=request.user)
        return Response(_user_out(request.user, membership_for(user=request.user)))


def _token_out(token: ApiToken) -> dict:
    # Never the key: only its digest is stored, and the key is shown once, when it is made.
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
    }


class CurrentUserTokenView(APIView):
    @extend_schema(
        responses={200: schemas.TokenKeyOut, 409: schemas.ErrorOut},
        summary="The caller's API token (Label Studio's get_token)",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        # Tokens are stored as SHA-256 digests, so a key cannot be read back. A request signed with a
        # token gets that key, which it already holds; a browser session is told how to make a new one,
        # since a GET must not change state.
        if isinstance(request.auth, ApiToken):
            return Response({"token": request.META["HTTP_AUTHORIZATION"].split()[1]})
        raise ApplicationError(
            _(
                "Tokens are stored only as digests, so an existing key cannot be shown again; "
                "POST /api/current-user/reset-token/ or /api/tokens/ to make a new one."
            ),
            code="token_not_retrievable",
            status=409,
        )


class CurrentUserResetTokenView(APIView):
    @extend_schema(
        request=None,
        responses={201: schemas.TokenKeyOut},
        summary="Revoke every token of the caller and make one new",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        caller_membership(request)
        return Response({"token": api_token_reset(user=request.user)}, status=status.HTTP_201_CREATED)


class TokenListView(APIView):
    @extend_schema(
        responses={200: schemas.ApiTokenOut(many=True)}, summary="The caller's API tokens (never their keys)"
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        caller_membership(request)
        return Response([_token_out(token) for token in api_tokens_of(user=request.user)])

    @extend_schema(
        request=schemas.ApiTokenIn,
        responses={201: schemas.ApiTokenCreatedOut, 400: schemas.ErrorOut},
        summary="Make an API token: optional name and expires_in_days; the key is in this answer only",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        caller_membership(request)
        body = json_object(request)
        unknown = set(body) - {"name", "expires_in_days"}
        if unknown:
            raise ApplicationError(
                _("Unknown field %(field)r.") % {"field": sorted(unknown)[0]}, field=sorted(unknown)[0]
            )
        token, key = api_token_issue(
            user=request.user, name=body.get("name", ""), expires_in_days=body.get("expires_in_days")
        )
        return Response({**_token_out(token), "key": key}, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    @extend_schema(
        responses={204: None, 404: schemas.ErrorOut}, summary="Revoke one of the caller's API tokens"
    )
    def delete(self, request: AuthenticatedRequest, token_id: str) -> Response:
        caller_membership(request)
        api_token_revoke(user=request.user, token_id=int(token_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
