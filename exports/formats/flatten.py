"""Flatten a Label Studio result into one value per control, as Label Studio's converter does for its
JSON_MIN and CSV exports (``prettify_result`` in ``label_studio_sdk.converter.utils``).

A control with one region of Choices or TextArea becomes that region's single pick or text
(``"Positive"``), or its value object when it holds several (``{"choices": ["A", "B"]}``); every
other control becomes the list of its regions' value objects (``[{"rating": 4}]``, spans).
"""

import json

# The controls whose single pick Label Studio writes bare.
_BARE = {"choices": "choices", "textarea": "text"}


def _value(region: dict) -> dict:
    value = dict(region["value"])
    for key in ("original_width", "original_height"):
        if key in region:
            value[key] = region[key]
    return value


def flatten_result(result: list) -> dict:
    grouped: dict[str, list[dict]] = {}
    for region in result:
        # Relations carry no from_name; a region without a value object says nothing to flatten.
        if isinstance(region, dict) and region.get("from_name") and isinstance(region.get("value"), dict):
            grouped.setdefault(region["from_name"], []).append(region)
    flat: dict = {}
    for name, regions in grouped.items():
        picked = []
        kind = ""
        for region in regions:
            kind = str(region.get("type", "")).lower()
            value = _value(region)
            field = _BARE.get(kind)
            items = value.get(field) if field else None
            picked.append(items[0] if isinstance(items, list) and len(items) == 1 else value)
        flat[name] = picked[0] if kind in _BARE and len(picked) == 1 else picked
    return flat


def loads(text: str):
    return json.loads(text) if isinstance(text, str) else text
