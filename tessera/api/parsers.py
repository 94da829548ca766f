"""Request body parsers: each refuses, once and before any view runs, what tessera.validation says the
database and the API cannot hold, so that no such value fails deep inside a write with a 500."""

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.datastructures import MultiValueDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from tessera import strict_json, validation


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
