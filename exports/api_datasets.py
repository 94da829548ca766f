"""Dataset versions over HTTP: build (manager+), list and read (reviewer+), download with ETag and ranges,
preview a recipe's counts, diff two versions, delete (manager+). Annotators may do none of it."""

import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import re_path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import JobState
from annotation.selectors import project_get
from exports import api_dataset_schemas as schemas
from exports.dataset_selectors import (
    dataset_version_card,
    dataset_version_file,
    dataset_version_get,
    dataset_version_list,
)
from exports.dataset_services import (
    dataset_preview,
    dataset_version_create,
    dataset_version_delete,
    dataset_version_download_record,
)
from exports.datasets import storage
from exports.datasets.build import manifest_diff
from exports.formats.datasets import DATASET_FORMATS
from exports.models import DatasetVersion
from tessera.api.output import user_simple_out
from tessera.api.schemas import ErrorOut
from tessera.errors import ApplicationError, Conflict
from tessera.models import Role
from tessera.permissions import caller_membership, require_role
from tessera.request_types import AuthenticatedRequest

ERRORS = {status: ErrorOut for status in (400, 403, 404)}
READ_ERRORS = {status: ErrorOut for status in (403, 404)}
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_STREAM_CHUNK = 256 * 1024


def _time(value) -> str | None:
    return value.isoformat() if value else None


def dataset_version_out(version: DatasetVersion, *, card: bool = False) -> dict:
    body = {
        "id": version.pk,
        "project": version.project_id,
        "name": version.name,
        "status": version.state,
        "progress": {"done": version.progress_done, "total": version.progress_total},
        "recipe": version.recipe,
        "counts": version.counts,
        "steps": version.steps,
        "files": [{k: f[k] for k in ("format", "split", "bytes", "sha256")} for f in version.files],
        "manifest_sha256": version.manifest_sha256,
        "parent": version.parent_id,
        "error": version.error,
        "attempts": version.attempts,
        "created_by": user_simple_out(version.created_by),
        "created_at": _time(version.created_at),
        "started_at": _time(version.started_at),
        "finished_at": _time(version.finished_at),
    }
    if card:
        body["card"] = dataset_version_card(version=version)
    return body


class ProjectDatasetsView(APIView):
    @extend_schema(
        responses={200: schemas.DatasetVersionOut(many=True), **READ_ERRORS}, summary="List dataset versions"
    )
    def get(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.REVIEWER, action="read dataset versions")
        return Response([dataset_version_out(v) for v in dataset_version_list(project=project)])

    @extend_schema(
        request=schemas.DatasetRecipeIn,
        responses={201: schemas.DatasetVersionOut, **ERRORS},
        summary="Build a dataset version from a recipe (queued)",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="build dataset versions")
        version = dataset_version_create(project=project, user=request.user, body=request.data)
        return Response(dataset_version_out(version), status=201)


class DatasetPreviewView(APIView):
    @extend_schema(
        request=schemas.DatasetRecipeIn,
        responses={200: schemas.DatasetCountsOut, **ERRORS},
        summary="Counts per split and label a recipe would give, without building",
    )
    def post(self, request: AuthenticatedRequest, project_id: int) -> Response:
        project = project_get(membership=caller_membership(request), project_id=project_id)
        require_role(request, Role.MANAGER, action="build dataset versions")
        return Response(dataset_preview(project=project, body=request.data))


class DatasetVersionView(APIView):
    @extend_schema(
        responses={200: schemas.DatasetVersionOut, **READ_ERRORS}, summary="A dataset version and its card"
    )
    def get(self, request: AuthenticatedRequest, version_id: int) -> Response:
        version = dataset_version_get(membership=caller_membership(request), version_id=version_id)
        require_role(request, Role.REVIEWER, action="read dataset versions")
        return Response(dataset_version_out(version, card=True))

    @extend_schema(responses={204: None, **READ_ERRORS}, summary="Delete a dataset version and its files")
    def delete(self, request: AuthenticatedRequest, version_id: int) -> HttpResponse:
        version = dataset_version_get(membership=caller_membership(request), version_id=version_id)
        require_role(request, Role.MANAGER, action="delete dataset versions")
        dataset_version_delete(version=version, user=request.user)
        return HttpResponse(status=204)


def _completed(version: DatasetVersion) -> None:
    if version.state != JobState.COMPLETED:
        raise Conflict(
            _("This dataset version is not built (%(status)s).") % {"status": version.state}, code="not_ready"
        )


def _ranged(path, size: int, header: str | None) -> tuple[int, int] | None:
    """(first, last) byte of a single ``bytes=`` range; None for no range (or several: the whole file is
    sent, as HTTP allows); ApplicationError 416 for a range outside the file."""
    if not header:
        return None
    if "," in header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise ApplicationError(
            _("The Range header is malformed."), field="Range", code="bad_range", status=416
        )
    first_text, last_text = match.groups()
    if first_text == "":
        length = int(last_text)
        if length == 0:
            raise ApplicationError(_("The range is empty."), field="Range", code="bad_range", status=416)
        return max(size - length, 0), size - 1
    first = int(first_text)
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    if first >= size or first > last:
        raise ApplicationError(
            _("The range is outside the file (%(size)s bytes).") % {"size": size},
            field="Range",
            code="bad_range",
            status=416,
        )
    return first, last


def _file_part(path, first: int, last: int):
    with open(path, "rb") as stream:
        stream.seek(first)
        left = last - first + 1
        while left > 0:
            chunk = stream.read(min(_STREAM_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def file_download(
    version: DatasetVersion, entry: dict, request: AuthenticatedRequest
) -> HttpResponse | StreamingHttpResponse:
    """The stored file with its SHA-256 as a strong ETag: 304 for a matching If-None-Match, 206 for one range."""
    fmt = DATASET_FORMATS.get(entry["format"])
    content_type = (
        fmt.content_type
        if fmt is not None
        else {"card": "text/markdown; charset=utf-8", "manifest": "application/jsonl"}.get(
            entry["format"], "application/octet-stream"
        )
    )
    path = storage.resolve(entry["path"])
    etag = f'"{entry["sha256"]}"'
    # Built from the version's id, a format name and a split only: never from task data or a name.
    filename = f"dataset-{version.pk}-{path.name}"
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        unchanged = HttpResponse(status=304)
        unchanged["ETag"] = etag
        return unchanged
    size = entry["bytes"]
    span = _ranged(path, size, request.headers.get("Range"))
    response: HttpResponse | StreamingHttpResponse
    if span is None:
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
        response["Content-Length"] = str(size)
    else:
        first, last = span
        response = StreamingHttpResponse(_file_part(path, first, last), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
        response["Content-Length"] = str(last - first + 1)
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _FormatIsAParameter(DefaultContentNegotiation):
    """``?format=`` names the dataset's format here, not DRF's renderer (which would 404 on "jsonl")."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DatasetDownloadView(APIView):
    content_negotiation_class = _FormatIsAParameter

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format", str, required=True, description='A format of the recipe, "card" or "manifest"'
            ),
            OpenApiParameter(
                "split", str, description="train, validation or test (formats written per split)"
            ),
            OpenApiParameter("Range", str, location=OpenApiParameter.HEADER, description="bytes=first-last"),
            OpenApiParameter("If-None-Match", str, location=OpenApiParameter.HEADER),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            304: None,
            **{status: ErrorOut for status in (400, 403, 404, 409, 416)},
        },
        summary="Download a dataset version's file (ETag, range requests)",
    )
    def get(self, request: AuthenticatedRequest, version_id: int) -> HttpResponse | StreamingHttpResponse:
        version = dataset_version_get(membership=caller_membership(request), version_id=version_id)
        require_role(request, Role.REVIEWER, action="download dataset versions")
        _completed(version)
        format_name = request.query_params.get("format", "")
        split = request.query_params.get("split") or None
        if not any(f["format"] == format_name for f in version.files):
            raise ApplicationError(
                _("This version has no %(format)r file; it has %(formats)s.")
                % {
                    "format": format_name[:100],
                    "formats": ", ".join(dict.fromkeys(f["format"] for f in version.files)),
                },
                field="format",
            )
        entry = dataset_version_file(version=version, format_name=format_name, split=split)
        if entry is None:
            raise ApplicationError(
                _("The %(format)s files are per split: name one of %(splits)s.")
                % {
                    "format": format_name,
                    "splits": ", ".join(f["split"] for f in version.files if f["format"] == format_name),
                },
                field="split",
            )
        dataset_version_download_record(
            version=version, user=request.user, format_name=entry["format"], split=entry["split"]
        )
        return file_download(version, entry, request)


class DatasetDiffView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("other", int, required=True, description="The version to compare with")],
        responses={200: schemas.DatasetDiffOut, **ERRORS, 409: ErrorOut},
        summary="Tasks added, removed and relabeled between two versions",
    )
    def get(self, request: AuthenticatedRequest, version_id: int) -> Response:
        membership = caller_membership(request)
        version = dataset_version_get(membership=membership, version_id=version_id)
        require_role(request, Role.REVIEWER, action="read dataset versions")
        if "other" not in request.query_params:
            raise ApplicationError(_("Name the version to compare with: ?other=<id>."), field="other")
        other = dataset_version_get(membership=membership, version_id=request.query_params["other"])
        _completed(version)
        _completed(other)
        paths = []
        for each in (other, version):
            manifest = dataset_version_file(version=each, format_name="manifest", split=None)
            if manifest is None:
                raise Conflict(_("This dataset version has no manifest."), code="no_manifest")
            paths.append(storage.resolve(manifest["path"]))
        return Response({"base": other.pk, "version": version.pk, **manifest_diff(paths[0], paths[1])})


urlpatterns = [
    re_path(
        r"^projects/(?P<project_id>\d+)/datasets/?$", ProjectDatasetsView.as_view(), name="project-datasets"
    ),
    re_path(
        r"^projects/(?P<project_id>\d+)/datasets/preview/?$",
        DatasetPreviewView.as_view(),
        name="dataset-preview",
    ),
    re_path(r"^datasets/(?P<version_id>\d+)/?$", DatasetVersionView.as_view(), name="dataset-version"),
    re_path(
        r"^datasets/(?P<version_id>\d+)/download/?$", DatasetDownloadView.as_view(), name="dataset-download"
    ),
    re_path(r"^datasets/(?P<version_id>\d+)/diff/?$", DatasetDiffView.as_view(), name="dataset-diff"),
]
