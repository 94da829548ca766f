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


def json_loads(text: str | bytes) -> Any:
    """``json.loads(text)``: the same values (dicts in the text's key order), through orjson where it
    reads the text alike. What orjson refuses and json.loads reads (lone surrogates, NaN, Infinity, a
    number out of a double's range) and what it would read otherwise (long integers) go to json.loads."""
    if orjson is not None:
        if (
            _ORJSON_MAY_MISREAD_BYTES.search(text)
            if isinstance(text, bytes)
            else _ORJSON_MAY_MISREAD.search(text)
        ) is None:
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                pass
    return json.loads(text)
