"""The model registry: ``/api/models/`` (list), ``/api/models/{id}/`` (read, delete),
``/api/models/{id}/promote`` and ``/api/models/{id}/evaluation-project``.

Members read; managers and above promote and make evaluation projects; admins and above delete. Another
organization's model is a 404 whatever the caller's role (the lookup is scoped first); a project named
in a body that is not the organization's is a 400 naming ``project``.
"""

from typing import Any

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors as annotation_selectors
from annotation.api.schemas import errors
from tessera.api.base import json_object, page_params
from tessera.api.output import time_out, user_simple_out
from tessera.api.schemas import UserSimpleOut
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest
from training import model_version_selectors as selectors
from training.models import ModelVersion
from training.services.evaluation_projects import evaluation_project_create
from training.services.model_promotion import model_version_delete, model_version_promote

# ---- shapes ------------------------------------------------------------------------------------------------


class ModelFileOut(serializers.Serializer):
    path = serializers.CharField(help_text="Relative to the version's registry folder.")
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class ModelVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="The registry name, e.g. project-12-text_classification.")
    version = serializers.CharField(help_text="v1, v2, … per name.")
    project = serializers.IntegerField()
    recipe = serializers.CharField()
    task_kind = serializers.CharField(
        help_text="sequence_classification, token_classification, causal_lm or masked_lm."
    )
    base_model = serializers.IntegerField(allow_null=True)
    base_model_name = serializers.CharField(allow_blank=True)
    params = serializers.DictField()
    dataset = serializers.IntegerField(allow_null=True, help_text="The dataset version trained on.")
    dataset_manifest_sha256 = serializers.CharField(allow_blank=True)
    job = serializers.IntegerField(allow_null=True, help_text="The training job that produced it.")
    metrics = serializers.DictField(help_text="The evaluation on the test split (eval.json).")
    files = ModelFileOut(many=True)
    lineage = serializers.DictField()
    evaluation_project = serializers.IntegerField(allow_null=True)
    promoted_to = serializers.ListField(
        child=serializers.IntegerField(), help_text="Projects whose active pre-labeler reads this version."
    )
    created_at = serializers.DateTimeField()
    created_by = UserSimpleOut(allow_null=True)


class ModelVersionPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True)
    previous = serializers.IntegerField(allow_null=True)
    results = ModelVersionOut(many=True)


class PromoteIn(serializers.Serializer):
    project = serializers.IntegerField(help_text="A project of the organization to pre-label with it.")


class PromoteOut(serializers.Serializer):
    model = serializers.IntegerField()
    project = serializers.IntegerField()
    prelabeler = serializers.IntegerField(help_text="The project's registry_model pre-labeler.")


# ---- output -----------------------------------------------------------------------------------------------


def model_version_out(version: ModelVersion, *, promoted_to: list[int]) -> dict[str, Any]:
    return {
        "id": version.pk,
        "name": version.name,
        "version": version.version,
        "project": version.project_id,
        "recipe": version.recipe,
        "task_kind": version.task_kind,
        "base_model": version.base_model_id,
        "base_model_name": version.base_model_name,
        "params": version.params,
        "dataset": version.dataset_id,
        "dataset_manifest_sha256": version.dataset_manifest_sha256,
        "job": version.job_id,
        "metrics": version.metrics,
        "files": version.files,
        "lineage": version.lineage,
        "evaluation_project": version.evaluation_project_id,
        "promoted_to": promoted_to,
        "created_at": time_out(version.created_at),
        "created_by": user_simple_out(version.created_by),
    }


def _one_out(version: ModelVersion) -> dict[str, Any]:
    promoted = selectors.promoted_to(organization_id=version.organization_id, versions=[version])
    return model_version_out(version, promoted_to=promoted.get(version.pk, []))


# ---- views ------------------------------------------------------------------------------------------------


class ModelVersionsView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("project", int, description="Only this project's models."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: ModelVersionPageOut, **errors(400, 404)},
        operation_id="models_list",
        summary="The organization's model versions, newest first (members)",
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        membership = caller_membership(request)
        project_id = request.query_params.get("project")
        project = (
            None
            if project_id in (None, "")
            else annotation_selectors.project_get(membership=membership, project_id=project_id)
        )
        page, page_size = page_params(request, default_size=50)
        rows = selectors.model_versions_of(membership=membership, project=project)
        total = rows.count()
        versions = list(rows[(page - 1) * page_size : page * page_size])
        promoted = selectors.promoted_to(organization_id=membership.organization_id, versions=versions)
        return Response(
            {
                "count": total,
                "next": None if page * page_size >= total else page + 1,
                "previous": page - 1 if page > 1 else None,
                "results": [model_version_out(v, promoted_to=promoted.get(v.pk, [])) for v in versions],
            }
        )


class ModelVersionDetailView(APIView):
    @extend_schema(responses={200: ModelVersionOut, **errors(404)}, summary="One model version (members)")
    def get(self, request: AuthenticatedRequest, model_id: int) -> Response:
        version = selectors.model_version_get(
            membership=caller_membership(request), model_version_id=model_id
        )
        return Response(_one_out(version))

    @extend_schema(
        responses={204: None, **errors(403, 404)},
        summary="Delete a model version and its registry folder (admins and above)",
    )
    def delete(self, request: AuthenticatedRequest, model_id: int) -> Response:
        version = selectors.model_version_get(
            membership=caller_membership(request), model_version_id=model_id
        )
        require_role(request, Role.ADMIN, action="delete models")
        model_version_delete(model_version=version, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelVersionPromoteView(APIView):
    @extend_schema(
        request=PromoteIn,
        responses={200: PromoteOut, **errors(400, 403, 404)},
        summary="Make the model the project's pre-labeler (managers and above)",
    )
    def post(self, request: AuthenticatedRequest, model_id: int) -> Response:
        membership = caller_membership(request)
        version = selectors.model_version_get(membership=membership, model_version_id=model_id)
        require_role(request, Role.MANAGER, action="promote models")
        project = selectors.project_in_organization(
            membership=membership, project_id=json_object(request).get("project"), field="project"
        )
        prelabeler = model_version_promote(model_version=version, project=project, user=request.user)
        return Response({"model": version.pk, "project": project.pk, "prelabeler": prelabeler.pk})


class ModelVersionEvaluationProjectView(APIView):
    @extend_schema(
        request=None,
        responses={201: ModelVersionOut, **errors(400, 403, 404, 409)},
        summary="Make the evaluation project of a generative model's test answers (managers and above)",
    )
    def post(self, request: AuthenticatedRequest, model_id: int) -> Response:
        membership = caller_membership(request)
        version = selectors.model_version_get(membership=membership, model_version_id=model_id)
        require_role(request, Role.MANAGER, action="make evaluation projects")
        evaluation_project_create(model_version=version, user=request.user)
        return Response(_one_out(version), status=status.HTTP_201_CREATED)


urlpatterns = [
    re_path(r"^models/?$", ModelVersionsView.as_view(), name="models"),
    re_path(r"^models/(?P<model_id>\d+)/?$", ModelVersionDetailView.as_view(), name="model-detail"),
    re_path(r"^models/(?P<model_id>\d+)/promote/?$", ModelVersionPromoteView.as_view(), name="model-promote"),
    re_path(
        r"^models/(?P<model_id>\d+)/evaluation-project/?$",
        ModelVersionEvaluationProjectView.as_view(),
        name="model-evaluation-project",
    ),
]
