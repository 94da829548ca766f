"""JSON read through orjson where it reads the text as ``json.loads`` does (three to four times faster on
a result or a task's data), the standard library elsewhere: the same values either way. Used where whole
projects are read (dataset builds, the agreement recompute); tests/exports/test_canonical_json.py pins it.
"""

import json
import re
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library is the fallback
    orjson = None  # type: ignore[assignment]

# orjson reads an integer past 64 bits as a float, where json.loads keeps every digit: text with a run
# of 19 digits or more (an integer near or past the limit, or a long number or digit string anywhere,
# which costs nothing but speed) is read by json.loads.
_ORJSON_MAY_MISREAD = re.compile(r"[0-9]{19}")
_ORJSON_MAY_MISREAD_BYTES = re.compile(rb"[0-9]{19}")
# The same test without a regular expression (which has no literal to skip ahead by, and cost twice
# orjson's own parse): every ASCII digit made "0" and every other byte ".", then a search for nineteen
# "0"s, both at C speed. UTF-8 never has an ASCII digit byte inside another character.
_DIGITS_AS_ZERO = bytes(ord("0") if ord("0") <= byte <= ord("9") else ord(".") for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19


def may_misread(text: bytes) -> bool:
    """``_ORJSON_MAY_MISREAD_BYTES.search(text) is not None``: a run of 19 or more ASCII digits."""
    return text.translate(_DIGITS_AS_ZERO).find(_NINETEEN_DIGITS) != -1


def json_loads(text: str | bytes) -> Any:
    """``json.loads(text)``: the same values (dicts in the text's key order), through orjson where it
    reads the text alike. What orjson refuses and json.loads reads (lone surrogates, NaN, Infinity, a
    number out of a double's range) and what it would read otherwise (long integers) go to json.loads.
    Text comes as UTF-8 bytes to orjson (it reads them as fast as text, and the digit test needs them);
    text that cannot be encoded (a lone surrogate) goes to json.loads."""
    if orjson is not None:
        try:
            raw = text if isinstance(text, bytes) else text.encode()
        except UnicodeEncodeError:
            return json.loads(text)
        if not may_misread(raw):
            try:
                return orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
    return json.loads(text)
