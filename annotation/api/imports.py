"""Read an import request: a JSON/JSONL/CSV/TSV body or multipart files, within the size limits."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.http.multipartparser import MultiPartParserError
from rest_framework.request import Request

from annotation.importing.parsers import (
    TaskItem,
    format_from_content_type,
    format_from_filename,
    parse_items,
)
from tessera.errors import ApplicationError

READ_CHUNK = 1024 * 1024


@dataclass
class Upload:
    file_format: str
    name: str
    size: int
    chunks: Iterable[bytes]
    background: bool
    parse: Callable[[], list[TaskItem]]

    def items(self) -> list[TaskItem]:
        return self.parse()


def _too_large(size: int) -> ApplicationError:
    return ApplicationError(
        f"The upload is {size} bytes; the limit is {settings.TESSERA_MAX_UPLOAD_BYTES}.",
        field="file",
        code="too_large",
        status=413,
    )


def read_import(request: Request) -> Upload:
    django_request = request._request
    try:
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApplicationError(
            "The Content-Length header is not a number.", field="file", code="invalid_header"
        ) from None
    if declared > settings.TESSERA_MAX_UPLOAD_BYTES:
        raise _too_large(declared)
    content_type = django_request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("multipart/form-data"):
        return _from_files(django_request)
    file_format = format_from_content_type(content_type)
    if file_format is None:
        raise ApplicationError(
            f"Unsupported content type {content_type or '(none)'!r}: send application/json, application/x-ndjson, "
            "text/csv, text/tab-separated-values or multipart/form-data files.",
            field="file",
            code="unsupported_media_type",
            status=415,
        )
    body = django_request.body
    return _upload(body, file_format=file_format, name=f"body.{file_format}")


def _upload(raw: bytes, *, file_format: str, name: str) -> Upload:
    size = len(raw)
    if size > settings.TESSERA_MAX_UPLOAD_BYTES:
        raise _too_large(size)
    if not raw.strip():
        raise ApplicationError("The import is empty.", field="file", code="empty")
    return Upload(
        file_format=file_format,
        name=name,
        size=size,
        chunks=(raw[i : i + READ_CHUNK] for i in range(0, size, READ_CHUNK)),
        background=size > settings.TESSERA_SYNC_IMPORT_MAX_BYTES,
        parse=lambda: parse_items(raw, file_format, max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT),
    )


def _from_files(django_request) -> Upload:
    try:
        files = [f for values in django_request.FILES.lists() for f in values[1]]
    except MultiPartParserError as exc:
        raise ApplicationError(f"Malformed multipart body: {exc}", field="file", code="parse_error") from exc
    if not files:
        raise ApplicationError("No file in the multipart body.", field="file", code="required")
    uploads = []
    for upload in files:
        file_format = format_from_filename(upload.name or "")
        if file_format is None:
            raise ApplicationError(
                f"{upload.name!r}: unsupported file type; use .json, .jsonl, .csv or .tsv.",
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
            )
        return _upload(upload.read(), file_format=file_format, name=upload.name)
    total = sum(upload.size for upload, _ in uploads)
    if total > settings.TESSERA_SYNC_IMPORT_MAX_BYTES:
        raise ApplicationError(
            "Several large files in one request: upload them one at a time so each runs as its own import.",
            field="file",
            code="too_large",
        )
    contents = [(upload.read(), file_format) for upload, file_format in uploads]

    def parse() -> list[TaskItem]:
        items: list[TaskItem] = []
        for raw, file_format in contents:
            items.extend(parse_items(raw, file_format, max_tasks=settings.TESSERA_MAX_TASKS_PER_IMPORT))
        return items

    return Upload(
        file_format=uploads[0][1], name="files", size=total, chunks=[], background=False, parse=parse
    )
