"""JSON decoding as strict as the database's JSON columns. Plain Python.

Python's decoder accepts ``NaN`` and ``Infinity``, reads ``1e400`` as infinity, and
raises RecursionError on deep nesting. None of those values can be stored (PostgreSQL's
jsonb and SQLite's JSON checks refuse them) or exported as JSON, so each becomes a
ValueError here, which callers turn into a 400. What a decoded document may hold
(depth, text, integer range) is checked by ``tessera.validation.check_json``.
"""

import json
import math
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from _typeshed import SupportsRead


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


# Built once: json.loads with hooks builds a decoder per call, which costs more than decoding one
# line of a JSON Lines import.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def load(stream: "SupportsRead[str | bytes]") -> Any:
    """``json.load`` with the checks above."""
    try:
        return json.load(stream, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def loads(text: str | bytes) -> Any:
    """``json.loads`` with the checks above."""
    try:
        if isinstance(text, str) and not text.startswith("\ufeff"):
            return _DECODER.decode(text)
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def raw_decode(text: str, index: int = 0) -> tuple[Any, int]:
    """``(value, end)`` of the JSON value starting at ``text[index]``, with the checks above.

    For readers that split a stream into values (a JSON array read element by element).
    """
    try:
        return _DECODER.raw_decode(text, index)
    except RecursionError:
        raise ValueError("nested too deeply") from None
