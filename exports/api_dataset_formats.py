"""``GET /api/projects/{id}/datasets/formats``: the dataset formats and whether each fits the project, for
the Datasets tab's build form. Managers and above (those who may build); another organization's project
is a 404."""

from django.urls import re_path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.selectors import project_get
from exports.dataset_format_selectors import dataset_format_choices
from tessera.api.schemas import ErrorOut
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest


class DatasetFormatOut(serializers.Serializer):
    name = serializers.CharField(help_text='As a recipe\'s "formats" names it.')
    extension = serializers.CharField(help_text="Of the downloaded file (tar for a folder format).")
    per_split = serializers.BooleanField(
        help_text="One file per split (else one file for the whole version)."
    )
    fits = serializers.BooleanField(help_text="Whether the project's labeling config can be written in it.")
    reason = serializers.CharField(allow_null=True, help_text="Why it does not fit; null when it fits.")


class DatasetFormatsView(APIView):
    @extend_schema(
        responses={200: DatasetFormatOut(many=True), **{status: ErrorOut for status in (403, 404)}},
        summary="Dataset formats, and whether each fits this project",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="build dataset versions")
        return Response(
            [
                {
                    "name": choice.name,
                    "extension": choice.extension,
                    "per_split": choice.per_split,
                    "fits": choice.unfit is None,
                    "reason": choice.unfit,
                }
                for choice in dataset_format_choices(project=project)
            ]
        )


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/datasets/formats/?$",
        DatasetFormatsView.as_view(),
        name="dataset-formats",
    ),
]
