"""Base models: ``/api/base-models/`` (list, register) and ``/api/base-models/{id}/`` (read, delete).

Members read; admins and above register and delete. Another organization's model is a 404.
"""

from typing import Any

from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.schemas import errors
from tessera.api.base import json_object
from tessera.api.output import time_out, user_simple_out
from tessera.api.schemas import UserSimpleOut
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest
from training import selectors
from training.models import BaseModel, ModelKind
from training.services import base_models as services


class BaseModelOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    path = serializers.CharField(help_text="The folder, resolved.")
    model_type = serializers.CharField(help_text="config.json's model_type.")
    kind = serializers.ChoiceField(choices=ModelKind.values, help_text="Which recipes can train it.")
    parameters = serializers.IntegerField(help_text="Counted from its safetensors headers.")
    created_by = UserSimpleOut(allow_null=True)
    created_at = serializers.DateTimeField()


class BaseModelIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    path = serializers.CharField(
        help_text="An absolute path inside TESSERA_MODEL_ROOTS: config.json and *.safetensors weights only."
    )


def base_model_out(base_model: BaseModel) -> dict[str, Any]:
    return {
        "id": base_model.pk,
        "name": base_model.name,
        "path": base_model.path,
        "model_type": base_model.model_type,
        "kind": base_model.kind,
        "parameters": base_model.parameters,
        "created_by": user_simple_out(base_model.created_by),
        "created_at": time_out(base_model.created_at),
    }


class BaseModelsView(APIView):
    @extend_schema(
        responses={200: BaseModelOut(many=True)},
        summary="The organization's base models (members); all-MiniLM-L6-v2 is registered on first look",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        rows = selectors.base_models_of(membership=membership).select_related("created_by")
        if not rows.exists():
            services.base_model_defaults_register(organization=membership.organization)
        return Response([base_model_out(row) for row in rows.all()])

    @extend_schema(
        request=BaseModelIn,
        responses={201: BaseModelOut, **errors(400, 403, 409)},
        summary="Register a local model folder (admins and above); a pickle weights file is refused",
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        membership = require_role(request, Role.ADMIN, action="register base models")
        body = json_object(request)
        base_model = services.base_model_create(
            organization=membership.organization,
            user=request.user,
            name=body.get("name"),
            path=body.get("path"),
        )
        return Response(base_model_out(base_model), status=status.HTTP_201_CREATED)


class BaseModelDetailView(APIView):
    @extend_schema(responses={200: BaseModelOut, **errors(404)}, summary="One base model (members)")
    def get(self, request: AuthenticatedRequest, base_model_id: int) -> Response:
        base_model = selectors.base_model_get(
            membership=caller_membership(request), base_model_id=base_model_id
        )
        return Response(base_model_out(base_model))

    @extend_schema(
        responses={204: None, **errors(403, 404)},
        summary="Forget a base model; its folder stays on disk (admins and above)",
    )
    def delete(self, request: AuthenticatedRequest, base_model_id: int) -> Response:
        base_model = selectors.base_model_get(
            membership=caller_membership(request), base_model_id=base_model_id
        )
        require_role(request, Role.ADMIN, action="delete base models")
        services.base_model_delete(base_model=base_model, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    re_path(r"^base-models/?$", BaseModelsView.as_view(), name="base-models"),
    re_path(
        r"^base-models/(?P<base_model_id>\d+)/?$", BaseModelDetailView.as_view(), name="base-model-detail"
    ),
]
