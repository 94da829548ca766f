"""Canonical JSON text for dataset files: keys sorted at every depth, non-ASCII written as itself,
compact separators, no NaN or Infinity. The same value always gives the same text.

``json.JSONEncoder.encode`` builds CPython's C encoder afresh on every call (and a dict for its
circular-reference check); at two or three values per item that setup was a third of the Parquet and
JSONL writers' time. This module builds the C encoder once, with the arguments ``JSONEncoder`` passes
it, and is the only place that reaches into ``json.encoder``'s internals:
tests/exports/test_dataset_records.py pins that its text equals ``json.dumps``' with the same options.
Values here come from JSON (task data, results), so they hold no cycles and the check is not needed.
"""

import json
from collections.abc import Callable

_OPTIONS = {"ensure_ascii": False, "separators": (",", ":"), "sort_keys": True, "allow_nan": False}


def _refuse(value) -> None:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _build() -> Callable[[object], str]:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator: the standard encoder, slower
        return json.JSONEncoder(**_OPTIONS).encode  # type: ignore[arg-type]
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan),
    # as JSONEncoder.iterencode calls it.
    encode_chunks = make(None, _refuse, json.encoder.encode_basestring, None, ":", ",", True, False, False)

    def encode(value) -> str:
        if isinstance(value, str):
            # The C encoder expects a container at the top; a bare string is one escape call.
            return json.encoder.encode_basestring(value)
        return "".join(encode_chunks(value, 0))

    return encode


canonical_json = _build()


def reference_json(value) -> str:
    """The same text through the public API (tests compare the two)."""
    return json.dumps(value, **_OPTIONS)  # type: ignore[arg-type]
