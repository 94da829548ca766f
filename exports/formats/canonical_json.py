"""Canonical JSON text for dataset files: keys sorted at every depth, non-ASCII written as itself,
compact separators, no NaN or Infinity. The same value always gives the same text.

``json.JSONEncoder.encode`` builds CPython's C encoder afresh on every call (and a dict for its
circular-reference check); at two or three values per item that setup was a third of the Parquet and
JSONL writers' time. The encoder is built once, through the adapter that owns that private API
(tessera/adapters/c_json_encoder.py); tests/exports/test_dataset_records.py pins that its text equals
``json.dumps``' with the same options. Values here come from JSON (task data, results): no cycles.
"""

import json

from tessera.adapters.c_json_encoder import compact_encoder

_OPTIONS = {"ensure_ascii": False, "separators": (",", ":"), "sort_keys": True, "allow_nan": False}

canonical_json = compact_encoder(sort_keys=True, allow_nan=False)


def reference_json(value) -> str:
    """The same text through the public API (tests compare the two)."""
    return json.dumps(value, **_OPTIONS)  # type: ignore[arg-type]
