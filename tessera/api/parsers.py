"""Request body parsers."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser, plus a 400 for a body nested too deeply for Python's decoder.

    The decoder recurses once per level; ``[[[[…]]]]`` a few thousand deep raises RecursionError,
    which DRF does not catch and which would otherwise surface as a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
