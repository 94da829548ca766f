"""Label Studio's ``/api/ml/``: ML backends of a project, each a pre-labeler with backend ml_backend (same id).

The shapes are Label Studio's MLBackend (``ml/serializers.py``; label-studio-sdk's ``MlBackend``), so
``client.ml.create(url=…, project=…)`` and ``client.ml.list(project=…)`` work. Managers and above, for
reading too (the settings name servers and users); the project or backend is looked up before the
role is checked, so another organization's answer 404 for every role. The
password is never shown: ``basic_auth_pass_is_set`` says whether one is kept.
"""

from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.schemas import errors
from annotation.selectors import project_get
from tessera import validation
from tessera.api.base import json_object
from tessera.api.output import time_out
from tessera.errors import ApplicationError
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest
from training import selectors
from training.models import Prelabeler
from training.prelabelers.ml_backend import AUTH_METHODS, STATE_DISCONNECTED
from training.services import ml_backends

STATES = {
    "CO": "Connected",
    "DI": "Disconnected",
    "ER": "Error",
    "TR": "Training",
    "PR": "Predicting",
}


def ml_backend_out(prelabeler: Prelabeler) -> dict:
    settings = prelabeler.settings
    info = prelabeler.fit_info if isinstance(prelabeler.fit_info, dict) else {}
    state = info.get("state") if prelabeler.is_active else STATE_DISCONNECTED
    if state not in STATES:
        state = STATE_DISCONNECTED
    return {
        "id": prelabeler.pk,
        "state": state,
        "readable_state": STATES[state],
        "is_interactive": bool(settings.get("is_interactive", False)),
        "url": settings.get("url", ""),
        "error_message": info.get("error_message"),
        "title": prelabeler.title,
        "auth_method": settings.get("auth_method", "NONE"),
        "basic_auth_user": settings.get("basic_auth_user", ""),
        "basic_auth_pass_is_set": bool(settings.get("basic_auth_pass")),
        "description": settings.get("description", ""),
        "extra_params": settings.get("extra_params") or {},
        "model_version": prelabeler.model_version,
        "timeout": settings.get("timeout"),
        "created_at": time_out(prelabeler.created_at),
        "updated_at": time_out(prelabeler.updated_at),
        "auto_update": bool(settings.get("auto_update", True)),
        "project": prelabeler.project_id,
    }


# ---- schema ------------------------------------------------------------------------------------------


class MLBackendOut(serializers.Serializer):
    id = serializers.IntegerField(
        help_text="Also the id of the pre-labeler behind it (/api/prelabelers/{id}/)."
    )
    # Text, not an enum: import jobs' "state" already names a different enum in the schema.
    state = serializers.CharField(
        help_text="CO connected, ER error (see error_message), DI disconnected (inactive)."
    )
    readable_state = serializers.CharField()
    is_interactive = serializers.BooleanField()
    url = serializers.CharField()
    error_message = serializers.CharField(allow_null=True, help_text="Why the last /health or /setup failed.")
    title = serializers.CharField()
    auth_method = serializers.ChoiceField(choices=AUTH_METHODS)
    basic_auth_user = serializers.CharField(allow_blank=True)
    basic_auth_pass_is_set = serializers.BooleanField()
    description = serializers.CharField(allow_blank=True)
    extra_params = serializers.DictField()
    model_version = serializers.CharField(allow_blank=True)
    timeout = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    auto_update = serializers.BooleanField()
    project = serializers.IntegerField()


class MLBackendChangeIn(serializers.Serializer):
    url = serializers.CharField(required=False, help_text="The ML backend's base URL (http or https).")
    title = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    is_interactive = serializers.BooleanField(required=False)
    auth_method = serializers.ChoiceField(choices=AUTH_METHODS, required=False)
    basic_auth_user = serializers.CharField(required=False, allow_blank=True)
    basic_auth_pass = serializers.CharField(
        required=False, allow_blank=True, help_text="Write-only; empty keeps the one set before."
    )
    timeout = serializers.FloatField(required=False, allow_null=True, help_text="Seconds for one answer.")
    extra_params = serializers.DictField(required=False)
    model_version = serializers.CharField(required=False, allow_blank=True)
    auto_update = serializers.BooleanField(required=False)


class MLBackendIn(MLBackendChangeIn):
    url = serializers.CharField(help_text="The ML backend's base URL (http or https).")
    project = serializers.IntegerField()


# ---- views -------------------------------------------------------------------------------------------

ACTION = "manage ML backends"


class MLBackendListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("project", int, description="Only this project's backends"),
            OpenApiParameter("is_interactive", bool, description="Only interactive (or only other) backends"),
        ],
        responses={200: MLBackendOut(many=True), **errors(400, 403, 404)},
        summary="The organization's Label Studio ML backends; manager or above",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        project = None
        if request.query_params.get("project") is not None:
            project_id = validation.object_id(request.query_params["project"], field="project")
            project = project_get(membership=membership, project_id=project_id)
        require_role(request, Role.MANAGER, action=ACTION)
        interactive = request.query_params.get("is_interactive")
        if interactive is not None and interactive.lower() not in ("true", "false"):
            raise ApplicationError(_("is_interactive must be true or false."), field="is_interactive")
        rows = [ml_backend_out(row) for row in selectors.ml_backends(membership=membership, project=project)]
        if interactive is not None:
            rows = [row for row in rows if row["is_interactive"] == (interactive.lower() == "true")]
        return Response(rows)

    @extend_schema(
        request=MLBackendIn,
        responses={201: MLBackendOut, **errors(400, 403, 404)},
        summary="Add an ML backend to a project (checked with /health and /setup; a failing one saves in "
        "state ER); manager or above",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        body = json_object(request)
        if body.get("project") is None:
            raise ApplicationError(_("project is required."), field="project", code="required")
        project = project_get(
            membership=membership, project_id=validation.object_id(body["project"], field="project")
        )
        require_role(request, Role.MANAGER, action=ACTION)
        prelabeler = ml_backends.ml_backend_create(project=project, user=request.user, fields=body)
        return Response(ml_backend_out(prelabeler), status=status.HTTP_201_CREATED)


class MLBackendDetailView(APIView):
    @extend_schema(
        responses={200: MLBackendOut, **errors(403, 404)}, summary="One ML backend; manager or above"
    )
    def get(self, request: AuthenticatedRequest, ml_backend_id: str) -> Response:
        prelabeler = selectors.ml_backend_get(
            membership=caller_membership(request), ml_backend_id=ml_backend_id
        )
        require_role(request, Role.MANAGER, action=ACTION)
        return Response(ml_backend_out(prelabeler))

    @extend_schema(
        request=MLBackendChangeIn,
        responses={200: MLBackendOut, **errors(400, 403, 404)},
        summary="Change an ML backend (checked again with /health and /setup); manager or above",
    )
    def patch(self, request: AuthenticatedRequest, ml_backend_id: str) -> Response:
        prelabeler = selectors.ml_backend_get(
            membership=caller_membership(request), ml_backend_id=ml_backend_id
        )
        require_role(request, Role.MANAGER, action=ACTION)
        body = json_object(request)
        prelabeler = ml_backends.ml_backend_update(prelabeler=prelabeler, user=request.user, fields=body)
        return Response(ml_backend_out(prelabeler))

    @extend_schema(
        responses={204: None, **errors(403, 404)}, summary="Remove an ML backend; manager or above"
    )
    def delete(self, request: AuthenticatedRequest, ml_backend_id: str) -> Response:
        prelabeler = selectors.ml_backend_get(
            membership=caller_membership(request), ml_backend_id=ml_backend_id
        )
        require_role(request, Role.MANAGER, action=ACTION)
        ml_backends.ml_backend_delete(prelabeler=prelabeler, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    re_path(r"^ml/?$", MLBackendListView.as_view(), name="ml-backends"),
    re_path(r"^ml/(?P<ml_backend_id>\d+)/?$", MLBackendDetailView.as_view(), name="ml-backend"),
]
