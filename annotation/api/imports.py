"""Read an import request: a JSON/JSONL/CSV/TSV body or multipart files, within the size limits.

The body is streamed, never read whole by Django: every other request is held in memory only up to
DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), and an import may be TESSERA_MAX_UPLOAD_BYTES. Up to
TESSERA_SYNC_IMPORT_MAX_BYTES it is kept in memory and imported at once; above, it spools to a private
temporary file and runs as a background job. An optional ``column_map`` (a JSON object of file column ->
task data key, as the ``column_map`` query parameter or multipart field) renames columns as the upload is
parsed, here or in the background job.
"""

import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from annotation.importing.parsers import (
    ColumnMap,
    TaskItem,
    clean_column_map,
    format_from_content_type,
    format_from_filename,
    parse_items,
)
from tessera import strict_json
from tessera.errors import ApplicationError

READ_CHUNK = 1024 * 1024


class UnreadBody(BaseParser):
    """The import's parser for every body but multipart: it reads nothing.

    A browser session's request goes through DRF's CSRF check, which reads ``request.POST`` and so has
    DRF parse the body: a CSV or TSV body would be refused as an unsupported media type, and a JSON one
    read whole and consumed before read_import streams it. The body is left to read_import; multipart
    bodies still go through the MultiPartParser, which hands Django's request the files it parsed.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> dict:
        return {}


@dataclass
class Upload:
    file_format: str
    name: str
    size: int
    chunks: Iterable[bytes]
    background: bool
    parse: Callable[[], list[TaskItem]]
    column_map: dict[str, str] | None = None

    def items(self) -> list[TaskItem]:
        return self.parse()


def _too_large(size: int, *, at_least: bool = False) -> ApplicationError:
    return ApplicationError(
        (
            _("The upload is more than %(size)s bytes; the limit is %(limit)s.")
            if at_least
            else _("The upload is %(size)s bytes; the limit is %(limit)s.")
        )
        % {"size": size, "limit": settings.TESSERA_MAX_UPLOAD_BYTES},
        field="file",
        code="too_large",
        status=413,
    )


class _UploadLimit(FileUploadHandler):
    """Stops a multipart upload as soon as its files pass TESSERA_MAX_UPLOAD_BYTES, whatever it declared."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.TESSERA_MAX_UPLOAD_BYTES:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def _column_map_value(text: str | None, *, variables: list[str]) -> dict[str, str] | None:
    if text is None:
        return None
    try:
        value = strict_json.loads(text)
    except (json.JSONDecodeError, ValueError) as exc:
        raise ApplicationError(
            _("column_map is not valid JSON: %(exc)s.") % {"exc": exc}, field="column_map"
        ) from exc
    return clean_column_map(value, variables=variables)


def read_import(request: Request, *, variables: list[str]) -> Upload:
    """The upload, and its column map checked against ``variables`` (the config's data keys)."""
    django_request = request._request
    query_map = request.query_params.get("column_map")
    # Checked before the body is read: a bad map need not wait for a large upload.
    column_map = _column_map_value(query_map, variables=variables)
    try:
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApplicationError(
            _("The Content-Length header is not a number."), field="file", code="invalid_header"
        ) from None
    if declared > settings.TESSERA_MAX_UPLOAD_BYTES:
        raise _too_large(declared)
    content_type = django_request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        limit = _UploadLimit(django_request)
        # No effect when a browser session's CSRF check already parsed the form (Django then holds the
        # handlers in an ImmutableList): its files are checked one by one below, after Django spooled
        # them to disk.
        if isinstance(django_request.upload_handlers, list):
            django_request.upload_handlers.insert(0, limit)
        try:
            try:
                form_map = django_request.POST.get("column_map")
            except MultiPartParserError as exc:
                raise ApplicationError(
                    _("Malformed multipart body: %(exc)s") % {"exc": exc}, field="file", code="parse_error"
                ) from exc
            if form_map is not None:
                if query_map is not None:
                    raise ApplicationError(
                        _("Send column_map once: as a query parameter or as a form field, not both."),
                        field="column_map",
                    )
                column_map = _column_map_value(form_map, variables=variables)
            upload = _from_files(django_request, column_map=column_map)
        except ApplicationError:
            # Stopped part-way, the body looks empty or malformed: say why instead.
            if limit.exceeded:
                raise _too_large(settings.TESSERA_MAX_UPLOAD_BYTES, at_least=True) from None
            raise
        if limit.exceeded:
            raise _too_large(settings.TESSERA_MAX_UPLOAD_BYTES, at_least=True)
        return upload
    file_format = format_from_content_type(content_type)
    if file_format is None:
        raise ApplicationError(
            _(
                "Unsupported content type %(content_type)r: send application/json, application/x-ndjson, "
                "text/csv, text/tab-separated-values or multipart/form-data files."
            )
            % {"content_type": content_type or "(none)"},
            field="file",
            code="unsupported_media_type",
            status=415,
        )
    return _from_body(django_request, file_format=file_format, column_map=column_map)


def _from_body(django_request, *, file_format: str, column_map: ColumnMap | None) -> Upload:
    name = f"body.{file_format}"
    # Handed on to the Upload when large, whose chunks close it once drained.
    spool = tempfile.SpooledTemporaryFile(
        max_size=settings.TESSERA_SYNC_IMPORT_MAX_BYTES, dir=str(settings.FILE_UPLOAD_TEMP_DIR)
    )
    size = 0
    try:
        while chunk := django_request.read(READ_CHUNK):
            size += len(chunk)
            # Checked as it arrives: a body without Content-Length (chunked) declares nothing.
            if size > settings.TESSERA_MAX_UPLOAD_BYTES:
                raise _too_large(settings.TESSERA_MAX_UPLOAD_BYTES, at_least=True)
            spool.write(chunk)
        spool.seek(0)
        if size <= settings.TESSERA_SYNC_IMPORT_MAX_BYTES:
            raw = spool.read()
            spool.close()
            return _upload(raw, file_format=file_format, name=name, column_map=column_map)
    except BaseException:
        spool.close()
        raise
    return Upload(
        file_format=file_format,
        name=name,
        size=size,
        chunks=_drain(spool),
        background=True,
        parse=lambda: [],
        column_map=dict(column_map) if column_map else None,
    )


def _drain(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(READ_CHUNK):
            yield chunk


def _upload(raw: bytes, *, file_format: str, name: str, column_map: ColumnMap | None) -> Upload:
    size = len(raw)
    if size > settings.TESSERA_MAX_UPLOAD_BYTES:
        raise _too_large(size)
    if not raw.strip():
        raise ApplicationError(_("The import is empty."), field="file", code="empty")
    return Upload(
        file_format=file_format,
        name=name,
        size=size,
        chunks=(raw[i : i + READ_CHUNK] for i in range(0, size, READ_CHUNK)),
        background=size > settings.TESSERA_SYNC_IMPORT_MAX_BYTES,
        parse=lambda: parse_items(
            raw, file_format, max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT, column_map=column_map
        ),
        column_map=dict(column_map) if column_map else None,
    )


def _from_files(django_request, *, column_map: ColumnMap | None) -> Upload:
    try:
        files = [f for values in django_request.FILES.lists() for f in values[1]]
    except MultiPartParserError as exc:
        raise ApplicationError(
            _("Malformed multipart body: %(exc)s") % {"exc": exc}, field="file", code="parse_error"
        ) from exc
    if not files:
        raise ApplicationError(_("No file in the multipart body."), field="file", code="required")
    uploads = []
    for upload in files:
        file_format = format_from_filename(upload.name or "")
        if file_format is None:
            raise ApplicationError(
                _("%(name)r: unsupported file type; use .json, .jsonl, .csv or .tsv.")
                % {"name": upload.name},
                field="file",
                code="unsupported_format",
            )
        if upload.size > settings.TESSERA_MAX_UPLOAD_BYTES:
            raise _too_large(upload.size)
        uploads.append((upload, file_format))
    if len(uploads) == 1:
        upload, file_format = uploads[0]
        if upload.size > settings.TESSERA_SYNC_IMPORT_MAX_BYTES:
            return Upload(
                file_format=file_format,
                name=upload.name,
                size=upload.size,
                chunks=upload.chunks(READ_CHUNK),
                background=True,
                parse=lambda: [],
                column_map=dict(column_map) if column_map else None,
            )
        return _upload(upload.read(), file_format=file_format, name=upload.name, column_map=column_map)
    total = sum(upload.size for upload, _ in uploads)
    if total > settings.TESSERA_SYNC_IMPORT_MAX_BYTES:
        raise ApplicationError(
            _(
                "Several large files in one request: upload them one at a time so each runs as its own import."
            ),
            field="file",
            code="too_large",
        )
    contents = [(upload.read(), file_format, upload.name) for upload, file_format in uploads]

    def parse() -> list[TaskItem]:
        items: list[TaskItem] = []
        for raw, file_format, name in contents:
            try:
                parsed = parse_items(
                    raw, file_format, max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT, column_map=column_map
                )
            except ApplicationError as error:
                # Several files: say which one, as its lines and rows are counted from its own start.
                error.message = f"{name}: {error.message}"
                error.args = (error.message,)
                raise
            # The checks after parsing name a task by its position across the files, in the order sent.
            items.extend(parsed)
        return items

    return Upload(
        file_format=uploads[0][1], name="files", size=total, chunks=[], background=False, parse=parse
    )
