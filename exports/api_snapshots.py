"""Label Studio's snapshot exports (``label-studio-sdk``'s ``projects.exports``), mapped onto dataset versions.

A snapshot is a dataset version made from Label Studio's body (exports/dataset_services.snapshot_recipe)
that keeps its items; a download converts them to the ``exportType`` asked for with the writer
registered under that name in DATASET_FORMATS (JSON, JSON_MIN, CSV, TSV, CONLL2003, …).
"""

import tempfile

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import JobState
from annotation.selectors import project_get
from exports import api_dataset_schemas as schemas
from exports.dataset_selectors import dataset_version_file, dataset_version_get, dataset_version_list
from exports.dataset_services import dataset_version_delete, dataset_version_download_record, snapshot_create
from exports.datasets import storage
from exports.datasets.build import ITEMS_FORMAT, stored_items
from exports.datasets.selection import dataset_context
from exports.formats.datasets import DATASET_FORMATS
from exports.models import DatasetVersion
from tessera.api.output import user_simple_out
from tessera.api.schemas import ErrorOut
from tessera.errors import ApplicationError, Conflict, NotFound
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest


def _time(value) -> str | None:
    return value.isoformat() if value else None


def snapshot_out(version: DatasetVersion) -> dict:
    recipe = version.recipe
    return {
        "id": version.pk,
        "title": version.name,
        "status": version.state,
        "created_by": user_simple_out(version.created_by),
        "created_at": _time(version.created_at),
        "finished_at": _time(version.finished_at),
        "md5": version.manifest_sha256,
        "counters": {"task_number": version.counts.get("total", 0)},
        # Every format is converted when downloaded: the snapshot itself is the one "JSON" base.
        "converted_formats": [
            {"id": version.pk, "status": version.state, "export_type": "JSON", "traceback": None}
        ],
        "task_filter_options": {"reviewed": None, "only_with_annotations": True},
        "annotation_filter_options": {"gold": recipe.get("gold"), "review": recipe.get("review")},
        "serialization_options": None,
    }


class ProjectSnapshotsView(APIView):
    @extend_schema(
        responses={200: schemas.SnapshotOut(many=True), **{s: ErrorOut for s in (403, 404)}},
        summary="List snapshot exports (Label Studio)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="read exports")
        versions = dataset_version_list(project=project, snapshots_only=True)
        return Response([snapshot_out(v) for v in versions])

    @extend_schema(
        request=schemas.SnapshotIn,
        responses={201: schemas.SnapshotOut, **{s: ErrorOut for s in (400, 403, 404)}},
        summary="Make a snapshot export (Label Studio): a dataset version that keeps its items",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="make exports")
        version = snapshot_create(project=project, user=request.user, body=request.data)
        return Response(snapshot_out(version), status=201)


def _snapshot(request: AuthenticatedRequest, project_id: int, export_id: int) -> DatasetVersion:
    version = dataset_version_get(
        membership=caller_membership(request), version_id=export_id, project_id=project_id
    )
    if not version.snapshot:
        raise NotFound(_("Export not found."))
    return version


class SnapshotView(APIView):
    @extend_schema(
        responses={200: schemas.SnapshotOut, **{s: ErrorOut for s in (403, 404)}},
        summary="A snapshot export (Label Studio)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int, export_id: int) -> Response:
        version = _snapshot(request, project_id, export_id)
        require_role(request, Role.REVIEWER, action="read exports")
        return Response(snapshot_out(version))

    @extend_schema(
        responses={204: None, **{s: ErrorOut for s in (403, 404)}}, summary="Delete a snapshot export"
    )
    def delete(self, request: AuthenticatedRequest, project_id: int, export_id: int) -> HttpResponse:
        version = _snapshot(request, project_id, export_id)
        require_role(request, Role.MANAGER, action="delete exports")
        dataset_version_delete(version=version, user=request.user)
        return HttpResponse(status=204)


class SnapshotDownloadView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("exportType", str, description="A registered dataset format (default JSON)")
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            **{s: ErrorOut for s in (400, 403, 404, 409)},
        },
        summary="Download a snapshot export converted to exportType (Label Studio)",
    )
    def get(self, request: AuthenticatedRequest, project_id: int, export_id: int) -> FileResponse:
        version = _snapshot(request, project_id, export_id)
        require_role(request, Role.REVIEWER, action="download exports")
        export_type = request.query_params.get("exportType", request.query_params.get("export_type", "JSON"))
        fmt = DATASET_FORMATS.get(export_type)
        if fmt is None:
            raise ApplicationError(
                _("Unknown exportType %(export_type)r; use one of %(formats)s.")
                % {"export_type": export_type[:100], "formats": ", ".join(sorted(DATASET_FORMATS)) or "-"},
                field="exportType",
                code="unsupported_format",
            )
        context = dataset_context(version.project)
        reason = fmt.fits(context)
        if reason is not None:
            raise ApplicationError(
                _("The format %(name)s does not fit this project: %(reason)s")
                % {"name": fmt.name, "reason": reason},
                field="exportType",
                code="format_unfit",
            )
        if version.state != JobState.COMPLETED:
            raise Conflict(
                _("This export is not ready (%(status)s).") % {"status": version.state}, code="not_ready"
            )
        entry = dataset_version_file(version=version, format_name=ITEMS_FORMAT, split=None)
        if entry is None:
            raise Conflict(_("This export kept no items to convert."), code="no_items")
        dataset_version_download_record(version=version, user=request.user, format_name=fmt.name, split=None)
        # Converted into a private temporary file, then streamed: writers write to a binary stream, and
        # the file goes when the response is closed.
        converted = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115
        fmt.write(stored_items(storage.resolve(entry["path"])), context, converted)
        converted.seek(0)
        response = FileResponse(converted, content_type=fmt.content_type)
        response["Content-Disposition"] = (
            f'attachment; filename="project-{version.project_id}-export-{version.pk}-{fmt.name}.{fmt.extension}"'
        )
        return response


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/exports/?$", ProjectSnapshotsView.as_view(), name="project-snapshots"
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/exports/(?P<export_id>\d+)/?$",
        SnapshotView.as_view(),
        name="project-snapshot",
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/exports/(?P<export_id>\d+)/download/?$",
        SnapshotDownloadView.as_view(),
        name="project-snapshot-download",
    ),
]
