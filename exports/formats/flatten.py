"""Flatten a Label Studio result into one value per control, as Label Studio's JSON_MIN and CSV exports do."""

import json

# Controls whose value is a list of picked options; one pick is written as the bare option.
_PICKS = {"choices": "choices", "taxonomy": "taxonomy", "textarea": "text"}
_SCALARS = {"rating": "rating", "number": "number", "datetime": "datetime", "pairwise": "selected"}


def flatten_result(result: list) -> dict:
    flat: dict = {}
    for region in result:
        if not isinstance(region, dict) or region.get("type") == "relation":
            continue
        name = region.get("from_name")
        kind = str(region.get("type", "")).lower()
        value = region.get("value") or {}
        if kind in _PICKS:
            picked = value.get(_PICKS[kind], [])
            flat[name] = picked[0] if isinstance(picked, list) and len(picked) == 1 else picked
        elif kind in _SCALARS:
            flat[name] = value.get(_SCALARS[kind])
        else:
            flat.setdefault(name, []).append(value)
    return flat


def loads(text: str):
    return json.loads(text) if isinstance(text, str) else text
