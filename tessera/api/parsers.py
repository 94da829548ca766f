"""Request body parsers: each refuses, once and before any view runs, what tessera.validation says the
database and the API cannot hold, so that no such value fails deep inside a write with a 500."""

import codecs
import io
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.request import Request

from tessera import strict_json, validation
from tessera.errors import ApplicationError

READ_CHUNK = 1024 * 1024


def _check_fields(fields: MultiValueDict[str, Any]) -> None:
    """A form's fields, each a list of values: the error names the field."""
    for name, values in fields.lists():
        validation.check_text(name, field=name)
        for value in values:
            if isinstance(value, str):
                validation.check_text(value, field=name)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, strict as the database's JSON columns (NaN, Infinity and numbers too large for
    a float refused, see tessera.strict_json), then checked by tessera.validation: nesting depth, NUL and
    lone surrogates anywhere (keys too), integers of more than 308 digits."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            document = strict_json.load(codecs.getreader(encoding)(stream))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        validation.check_json(document)
        return document


class FormParser(parsers.FormParser):
    """Form bodies, with the same text checks as JSON bodies."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = super().parse(stream, media_type=media_type, parser_context=parser_context)
        _check_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Multipart bodies, with the same text checks in their fields as JSON bodies."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        parsed = super().parse(stream, media_type=media_type, parser_context=parser_context)
        _check_fields(parsed.data)
        return parsed


def json_body_within(request: Request, *, limit: int) -> Any:
    """The request's JSON body, for an endpoint that takes more than DATA_UPLOAD_MAX_MEMORY_SIZE (DRF reads
    a JSON body through ``request.body``, which Django stops there): read in chunks and counted as it
    arrives, 413 as soon as it passes ``limit`` whatever the length it declared, then parsed and checked
    as JSONParser does. A body of another type goes through DRF's parsers, within Django's own limits."""
    if request.content_type.split(";")[0].strip().lower() != "application/json":
        return request.data
    stream = request.stream
    received = bytearray()
    while stream is not None and (chunk := stream.read(READ_CHUNK)):
        received += chunk
        if len(received) > limit:
            raise ApplicationError(
                _("The request body is larger than this endpoint takes (%(limit)s bytes).")
                % {"limit": limit},
                code="too_large",
                status=413,
            )
    if not received:
        return {}  # as DRF hands a view an empty body: the endpoint's own check names what it wanted
    return JSONParser().parse(io.BytesIO(received), parser_context=request.parser_context)
