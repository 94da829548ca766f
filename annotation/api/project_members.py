"""``/api/projects/{id}/members/``: who may label or review a project that restricts membership.

Reviewers and above read the list; managers and above change it. Tessera's own (Label Studio's free
edition has no project membership).
"""

from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.api.output import project_member_out
from annotation.services import project_members
from tessera.api.base import json_object
from tessera.errors import ApplicationError
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest


def _only(body: dict, allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApplicationError(_("Unknown field %(field)r.") % {"field": unknown[0]}, field=unknown[0])


class ProjectMemberListView(APIView):
    @extend_schema(
        responses={200: schemas.ProjectMemberOut(many=True), **schemas.errors(403, 404)},
        summary="The project's members with their organization role; reviewer or above",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="list project members")
        rows = selectors.project_members(project=project)
        return Response([project_member_out(member, role=member.org_role) for member in rows])

    @extend_schema(
        request=schemas.ProjectMemberIn,
        responses={
            200: schemas.ProjectMemberOut,
            201: schemas.ProjectMemberOut,
            **schemas.errors(400, 403, 404),
        },
        summary="Add an active member of the organization to the project (user id or email); manager or above",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="change project members")
        body = json_object(request)
        _only(body, {"user", "email"})
        member, membership, created = project_members.project_member_add(
            project=project, actor=request.user, user_id=body.get("user"), email=body.get("email")
        )
        return Response(
            project_member_out(member, role=membership.role),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=schemas.ProjectMemberRemoveIn,
        responses={204: None, **schemas.errors(400, 403, 404)},
        operation_id="projects_members_remove",
        summary="Remove a member from the project (body: user); manager or above",
    )
    def delete(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="change project members")
        body = json_object(request)
        _only(body, {"user"})
        if "user" not in body:
            raise ApplicationError(_("user is required."), field="user", code="required")
        project_members.project_member_remove(project=project, actor=request.user, user_id=body["user"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectMemberDetailView(APIView):
    @extend_schema(
        responses={204: None, **schemas.errors(403, 404)},
        summary="Remove a member from the project; manager or above",
    )
    def delete(self, request: AuthenticatedRequest, project_id: int, user_id: str) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="change project members")
        project_members.project_member_remove(project=project, actor=request.user, user_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/members/?$", ProjectMemberListView.as_view(), name="project-members"
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/members/(?P<user_id>[0-9]{1,18})/?$",
        ProjectMemberDetailView.as_view(),
        name="project-member-detail",
    ),
]
