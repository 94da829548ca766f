"""Canonical JSON text for dataset files: keys sorted at every depth, non-ASCII written as itself,
compact separators, no NaN or Infinity. The same value always gives the same text.

``json.JSONEncoder.encode`` builds CPython's C encoder afresh on every call (and a dict for its
circular-reference check); at two or three values per item that setup was a third of the Parquet and
JSONL writers' time. The encoder is built once, through the adapter that owns that private API
(tessera/adapters/c_json_encoder.py); tests/exports/test_dataset_records.py pins that its text equals
``json.dumps``' with the same options. Values here come from JSON (task data, results): no cycles.

``canonical_json_bytes`` writes the same text as UTF-8 through orjson where it is installed (five times
faster than the C encoder on a result), falling back to the standard library wherever orjson would
differ, so the text is the same either way; tests/exports/test_canonical_json.py pins that. Reading
goes through ``tessera.json_reading.json_loads``.
"""

import json
import re

from exports.datasets.items import DatasetItem, ItemJson
from tessera.adapters.c_json_encoder import compact_encoder

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the standard library is the fallback
    orjson = None  # type: ignore[assignment]

_OPTIONS = {"ensure_ascii": False, "separators": (",", ":"), "sort_keys": True, "allow_nan": False}

canonical_json = compact_encoder(sort_keys=True, allow_nan=False)


def reference_json(value) -> str:
    """The same text through the public API (tests compare the two)."""
    return json.dumps(value, **_OPTIONS)  # type: ignore[arg-type]


# Where orjson's text can differ from json.dumps' (found by comparing both on millions of doubles, every
# code point and the integer limits): a float under 1e-4 in magnitude, which orjson writes as 0.00001 or
# 1e-7 where Python writes 1e-05 and 1e-07 (larger exponents and every other float are written alike);
# NaN and Infinity, which orjson writes as null where canonical JSON refuses them. Output holding either
# pattern (also when it is only inside a string, which costs nothing but speed) is written again by the
# C encoder. Integers past 64 bits, lone surrogates, non-string keys and subclasses make orjson raise,
# and are written (or refused) by the C encoder too.
_ORJSON_MAY_DIFFER = re.compile(rb"0\.0000|e-[0-9](?![0-9])|null")
_ORJSON_E_MINUS_DIGIT = re.compile(rb"e-[0-9](?![0-9])")


def _orjson_may_differ(text: bytes) -> bool:
    """``_ORJSON_MAY_DIFFER.search(text) is not None``, faster: the regular expression has no literal to
    skip ahead by and cost twice orjson's own encoding (a tenth of a dataset build); substring tests run
    at memchr's speed, and the expression runs only on text that holds "e-"."""
    return (
        b"null" in text
        or b"0.0000" in text
        or (b"e-" in text and _ORJSON_E_MINUS_DIGIT.search(text) is not None)
    )


_ORJSON_OPTIONS = (
    (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
    )
    if orjson is not None
    else 0
)


def canonical_json_bytes(value) -> bytes:
    """``canonical_json(value)`` encoded as UTF-8, the same bytes, faster."""
    if orjson is not None:
        try:
            text = orjson.dumps(value, option=_ORJSON_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
        else:
            if not _orjson_may_differ(text):
                return text
    return canonical_json(value).encode()


def item_json(item: DatasetItem) -> ItemJson:
    """The item's canonical JSON: as the build's spool holds it, or encoded here. An annotation whose
    result is the item's own (a recipe that chose one annotation) reuses the item's encoded result
    instead of encoding it twice."""
    known = item.known_json()
    if known is not None:
        return known
    result = item.result
    result_json = canonical_json_bytes(result)
    return ItemJson(
        data=canonical_json_bytes(item.data),
        result=result_json,
        annotations=tuple(
            (
                a.id,
                a.completed_by,
                result_json if a.result is result or a.result == result else canonical_json_bytes(a.result),
            )
            for a in item.annotations
        ),
    )
