"""``GET /api/projects/{id}/prelabel-stats/``: how annotators received each model version's pre-labels
(reviewers and above). Definitions in ``annotation/prelabel_stats.py`` and the schema's help texts."""

from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import schemas
from annotation.prelabel_stats import prelabel_stats
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest


class PrelabelVersionStatsOut(serializers.Serializer):
    model_version = serializers.CharField(allow_blank=True, help_text="The predictions' model_version.")
    prelabeler = serializers.IntegerField(
        allow_null=True, help_text="The pre-labeler that wrote them; null for imported predictions."
    )
    predictions = serializers.IntegerField(help_text="Predictions of this version in the project.")
    shown = serializers.IntegerField(
        help_text="Submitted answers (skips left out) started from one of them (parent_prediction)."
    )
    accepted_unchanged = serializers.IntegerField(
        help_text="Answers equal to the prediction region for region (prediction_changes.accepted)."
    )
    edited = serializers.IntegerField(
        help_text="Answers that changed the prediction but kept at least one of its regions (kept > 0)."
    )
    replaced = serializers.IntegerField(
        help_text="Answers that changed the prediction and kept none of its regions (kept = 0)."
    )
    reviewed = serializers.IntegerField(
        help_text="Of the shown, answers with a verdict (accepted, rejected, fixed)."
    )
    agreement_with_accepted = serializers.FloatField(
        allow_null=True,
        help_text="Of the reviewed, the share whose accepted result is the prediction: accepted by the reviewer "
        "as submitted and unchanged from the prediction (rejected and fixed answers disagree). Null when none "
        "was reviewed.",
    )


class PrelabelStatsOut(serializers.Serializer):
    model_versions = PrelabelVersionStatsOut(many=True, help_text="One row per model version, oldest first.")


class ProjectPrelabelStatsView(APIView):
    @extend_schema(
        responses={200: PrelabelStatsOut, **schemas.errors(403, 404)},
        summary="Per model version: predictions shown, accepted unchanged, edited, replaced, agreement; "
        "reviewer or above",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = selectors.project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="read pre-label statistics")
        return Response({"model_versions": prelabel_stats(project=project)})


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/prelabel-stats/?$",
        ProjectPrelabelStatsView.as_view(),
        name="project-prelabel-stats",
    ),
]
