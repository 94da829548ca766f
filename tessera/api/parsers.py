"""Request body parsers."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

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


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser, refusing two things the database or Python cannot take.

    The decoder recurses once per level; ``[[[[…]]]]`` a few thousand deep raises RecursionError,
    which DRF does not catch and which would otherwise surface as a 500. And PostgreSQL's text and
    jsonb columns cannot hold U+0000, so a NUL anywhere in a body is refused here, once, rather than
    failing deep inside a write.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            document = super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        path = _nul_path(document)
        if path is not None:
            raise ApplicationError(
                "Text may not contain the NUL character (\\u0000).", field=path or None, code="nul_character"
            )
        return document
