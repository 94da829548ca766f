"""CPython's private C JSON encoder (``json.encoder.c_make_encoder``), used from this module only.

json.dumps sets up a new encoder on every call, and even a kept JSONEncoder builds its C encoder anew
in each encode(): 2 to 4 µs of a 1 µs job, on two or three values per imported task. Building the C
encoder once makes encoding the data and results of a million tasks take a second less. Its call
signature is private and has changed between Python versions, so tests/tessera/test_adapters.py pins
that the result equals json.dumps(ensure_ascii=False, separators=(",", ":")).
"""

import json
from collections.abc import Callable

# typeshed leaves out c_make_encoder, being private (None where the C accelerator is missing).
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import NoReturn


def compact_encoder(*, sort_keys: bool = False, allow_nan: bool = True) -> Callable[[object], str]:
    """Compact JSON text, as json.dumps(ensure_ascii=False, separators=(",", ":"), sort_keys=…,
    allow_nan=…) writes it. Dataset files use sort_keys and refuse NaN (the same value, the same text).

    Values must come from parsed JSON: they cannot hold cycles, so the encoder keeps no
    circular-reference markers (a cycle would recurse until RecursionError).
    """
    fallback = json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, allow_nan=allow_nan
    ).encode
    if c_make_encoder is None:
        return fallback

    def default(value: object) -> NoReturn:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
    encode_chunks = c_make_encoder(
        None, default, encode_basestring, None, ":", ",", sort_keys, False, allow_nan
    )

    def encode(value: object) -> str:
        if isinstance(value, str):
            # A bare string is one escape call (json.dumps takes the same shortcut).
            return encode_basestring(value)
        return "".join(encode_chunks(value, 0))

    return encode
