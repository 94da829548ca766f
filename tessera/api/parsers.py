"""Request body parsers."""

import codecs

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from tessera import strict_json
from tessera.errors import ApplicationError


def _nul_path(value, path: str = "") -> str | None:
    """Where the first NUL character hides in a decoded JSON document (``""`` for the top), or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return child
            found = _nul_path(item, child)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _refuse_nul(document) -> None:
    path = _nul_path(document)
    if path is not None:
        raise ApplicationError(
            "Text may not contain the NUL character (\\u0000).", field=path or None, code="nul_character"
        )


def _refuse_nul_in_fields(fields) -> None:
    """A form's fields, each a list of values: the error names the field."""
    for name, values in fields.lists():
        if "\x00" in name or any("\x00" in value for value in values if isinstance(value, str)):
            raise ApplicationError(
                "Text may not contain the NUL character (\\u0000).", field=name, code="nul_character"
            )


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what the database cannot store, once, rather than failing deep
    inside a write: NaN, Infinity and numbers too large for a float (see tessera.strict_json), nesting
    too deep for Python's decoder (RecursionError, which DRF does not catch), and U+0000 anywhere,
    which PostgreSQL's text and jsonb columns cannot hold.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            document = strict_json.load(codecs.getreader(encoding)(stream))
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _refuse_nul(document)
        return document


class FormParser(parsers.FormParser):
    """Form bodies, with the same refusal of U+0000 as JSON bodies."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type=media_type, parser_context=parser_context)
        _refuse_nul_in_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Multipart bodies, with the same refusal of U+0000 in their fields as JSON bodies."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type=media_type, parser_context=parser_context)
        _refuse_nul_in_fields(parsed.data)
        return parsed
