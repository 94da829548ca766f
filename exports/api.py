"""The Label Studio export endpoint, streamed: ``GET /api/projects/{id}/export?exportType=JSON``."""

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.urls import re_path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.schemas import TASK_FILTERS_DESCRIPTION
from annotation.selectors import project_get, task_query_limits
from annotation.task_filters import parse_query_params
from exports import api_schemas
from exports.services import project_export
from tessera.api.schemas import ErrorOut
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest


class ProjectExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "exportType",
                str,
                description="JSON, JSON_MIN, CSV or TSV (default JSON), or one of label-studio-sdk's converter "
                "formats that fits the config: CONLL2003 (a .conll file), COCO, YOLO, YOLO_OBB, VOC (a zip, "
                "as Label Studio answers them); those hold at most TESSERA_CONVERTER_EXPORT_MAX_TASKS tasks",
            ),
            OpenApiParameter("download_all_tasks", bool, description="Include tasks with no annotation"),
            OpenApiParameter(
                "ids", int, many=True, description="Only these tasks (ids=1&ids=2, ids[]=1, ids=1,2)"
            ),
            OpenApiParameter(
                "filters",
                str,
                description="Only the tasks this data table filter matches (export the current filter); "
                "the shape of GET /api/tasks/'s filters. " + TASK_FILTERS_DESCRIPTION,
            ),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "text/tab-separated-values"): OpenApiTypes.BINARY,
            (200, "text/plain"): OpenApiTypes.BINARY,
            (200, "application/zip"): OpenApiTypes.BINARY,
            **{status: ErrorOut for status in (400, 403, 404)},
        },
        summary="Export a project (streamed)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int):
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="export projects")
        query = None
        if request.query_params.get("filters") is not None:
            # Only the filters: ordering does not apply (exports go in inner_id order) and the selection
            # travels as ids, as before.
            parsed = parse_query_params(
                {"filters": request.query_params["filters"]}, limits=task_query_limits()
            )
            query = parsed if parsed.narrows else None
        stream = project_export(
            project=project,
            user=request.user,
            export_type=request.query_params.get(
                "exportType", request.query_params.get("export_type", "JSON")
            ),
            download_all_tasks=request.query_params.get("download_all_tasks", "false").lower()
            in ("1", "true"),
            ids=request.query_params.getlist("ids") + request.query_params.getlist("ids[]"),
            query=query,
        )
        if stream.file is not None:
            # A converted export, already on disk: FileResponse sends it with its length and closes it.
            return FileResponse(
                stream.file, as_attachment=True, filename=stream.filename, content_type=stream.content_type
            )
        response = StreamingHttpResponse(
            (chunk.encode() for chunk in stream.chunks), content_type=stream.content_type
        )
        response["Content-Disposition"] = f'attachment; filename="{stream.filename}"'
        return response


class VersionView(APIView):
    """The SDK's export helpers (``projects.exports.as_json``, ``as_pandas``, ``as_file``) first read the
    edition here: "Community" makes them download from the synchronous export above, where
    "Enterprise" would send them to snapshot endpoints that Tessera does not have."""

    @extend_schema(responses={200: api_schemas.VersionOut}, summary="Server version, in Label Studio's shape")
    def get(self, request: AuthenticatedRequest) -> Response:
        release = settings.SPECTACULAR_SETTINGS["VERSION"]
        return Response(
            {
                "release": release,
                "edition": "Community",
                "backend": {"name": "tessera", "version": release},
                "label-studio-os-package": None,
                "label-studio-os-backend": None,
                "label-studio-frontend": None,
                "label-studio-converter": None,
                "dm2": None,
                "lsf": None,
            }
        )


urlpatterns = [
    re_path(r"^version/?$", VersionView.as_view(), name="version"),
    re_path(r"^projects/(?P<project_id>\d+)/export/?$", ProjectExportView.as_view(), name="project-export"),
]
