"""Check annotation and prediction results against a project's label config. Plain Python.

Region shapes, names, types and label values are checked by the SDK's
``LabelInterface`` (the same rules Label Studio applies). We add what needs the
task's data: span offsets must lie inside the text they point into. Offsets are
Unicode code points (Python string indexes), so Japanese and other CJK text
count one per character.
"""

import json
import marshal
import re

from django.utils.translation import gettext as _

from annotation.label_config import LabelSchema
from annotation.media_urls import own_hosts, points_at_own_api
from tessera.errors import ApplicationError

_REGION_INDEX = re.compile(r"^Region (\d+): ")


def validate_result(schema: LabelSchema, result, data: dict, *, field: str) -> None:
    """Raise ApplicationError naming the place (e.g. ``tasks[3].annotations[0].result[2]``) and the reason.

    ``field`` is the path of the object holding the result; empty for a result at the top of a request.
    """
    validate_result_regions(schema, result, field=field)
    validate_result_spans(schema, result, data, field=field)


def validate_result_regions(schema: LabelSchema, result, *, field: str) -> None:
    """The SDK's checks: names, types, labels, value shapes. They read the result alone, not the task."""
    base = f"{field}.result" if field else "result"
    if not isinstance(result, list):
        raise ApplicationError(_("result must be a list of regions."), field=base, code="invalid_result")
    errors = schema.interface.validate_prediction(
        {"result": _pairwise_as_sdk_reads(schema, result)}, return_errors=True
    )
    if not errors:
        errors = _pairwise_errors(schema, result)
    if errors:
        message = errors[0]
        match = _REGION_INDEX.match(message)
        location = f"{base}[{match.group(1)}]" if match else base
        raise ApplicationError(message, field=location, code="invalid_result")


_PAIRWISE_SIDES = ("left", "right")


def _pairwise_as_sdk_reads(schema: LabelSchema, result: list) -> list:
    """Label Studio stores a Pairwise region with ``to_name`` equal to its own name; the SDK's check
    only accepts an object the control points at. Hand the SDK the first of those instead."""
    if not any(isinstance(r, dict) and str(r.get("type", "")).lower() == "pairwise" for r in result):
        return result
    adjusted = []
    for region in result:
        name = region.get("from_name") if isinstance(region, dict) else None
        control = schema.controls.get(name) if isinstance(name, str) else None
        if control is not None and control.tag == "pairwise" and region.get("to_name") == control.name:
            region = {**region, "to_name": control.to_names[0] if control.to_names else control.name}
        adjusted.append(region)
    return adjusted


def _pairwise_errors(schema: LabelSchema, result: list) -> list[str]:
    """The SDK takes any ``selected``; Label Studio's Pairwise picks one of two sides."""
    for index, region in enumerate(result):
        control = schema.controls.get(region.get("from_name"))
        if control is None or control.tag != "pairwise":
            continue
        selected = (region.get("value") or {}).get("selected")
        if selected not in _PAIRWISE_SIDES:
            return [f"Region {index}: Pairwise 'selected' must be 'left' or 'right', got {selected!r}"]
    return []


def validate_result_spans(schema: LabelSchema, result: list, data: dict, *, field: str) -> None:
    """Span offsets must lie inside the task's text; call after ``validate_result_regions``."""
    text_variables = schema.text_variables
    for index, region in enumerate(result):
        value = region.get("value")
        if not isinstance(value, dict) or "start" not in value or "end" not in value:
            continue
        variable = text_variables.get(region.get("to_name"))
        if variable is None:
            continue
        text = data.get(variable)
        if not isinstance(text, str):
            continue
        start, end = value["start"], value["end"]
        # Exact types: bool is an int to Python, and true/false as offsets are a client's mistake,
        # not 1 and 0. Offsets are code points, Python's string indexes: len() is the text's length.
        if type(start) is int and type(end) is int and 0 <= start < end <= len(text):
            continue
        raise ApplicationError(
            _(
                "Span [%(start)s, %(end)s) is outside the text of %(variable)r (%(length)s characters) or empty."
            )
            % {"start": start, "end": end, "variable": variable, "length": len(text)},
            field=f"{field}.result[{index}].value" if field else f"result[{index}].value",
            code="span_out_of_range",
        )


# Region fields that name a region; renamed by order of first appearance in a result's shape, so that
# regions sharing an id (split format) or relations pointing at them keep their structure.
_ID_FIELDS = ("id", "from_id", "to_id", "parentID")


def result_shape(result) -> list | None:
    """The result as the SDK's region checks see it: region ids renamed in order of appearance, span
    offsets and span text replaced by a placeholder of the same type. None if it is not a list of
    objects (checked in full, with the SDK's own message).

    The SDK checks a span's ``start``, ``end`` and ``text`` by type alone (``Union[float, int, str]``;
    whether the span lies inside the task's text is ours, checked per task), and a region id only
    against the result's other ids. So two results of one shape pass or fail together: labeled
    imports as Label Studio exports them, where every region carries its own random id and every
    span its own offsets, are checked once per shape instead of once per task.
    """
    if not isinstance(result, list):
        return None
    names: dict = {}
    shape = []
    for region in result:
        if not isinstance(region, dict):
            return None
        region = region.copy()
        for key in _ID_FIELDS:
            if key in region:
                name = region[key]
                if type(name) is str:
                    region[key] = f"#{names.setdefault(name, len(names))}"
                elif type(name) is int:
                    region[key] = names.setdefault(name, len(names))
        value = region.get("value")
        if isinstance(value, dict) and ("start" in value or "text" in value):
            value = value.copy()
            if type(value.get("start")) is int:
                value["start"] = 0
            if type(value.get("end")) is int:
                value["end"] = 0
            if type(value.get("text")) is str:
                value["text"] = ""
            region["value"] = value
        shape.append(region)
    return shape


def shape_key(shape: list) -> bytes:
    """A result shape as bytes that only an equal shape has (``marshal``'s version 2 writes the type of
    every value, so 1, 1.0 and true differ, and keeps no references between objects, so equal values
    give equal bytes), about a third cheaper to make than its JSON text."""
    return marshal.dumps(shape, 2)


class ResultValidator:
    """Validates many results against one schema, as an import does, remembering results already passed.

    The SDK's region checks cost about 10 µs a region and depend on nothing but the
    result itself (sibling regions included) and the schema, so a result whose JSON
    text is one already checked, as the same choice on thousands of tasks is, skips
    them; so does one whose shape (``result_shape``) is one already checked, as
    results with their own region ids and span offsets are. JSON text is the key
    because equal text means an equal result (1 and 1.0, or true and 1, encode
    differently). Span offsets depend on each task's text, so they are checked every time.
    """

    MAX_REMEMBERED = 4096
    MAX_KEY_CHARS = 4096

    def __init__(self, schema: LabelSchema, encode=None):
        self.schema = schema
        self.passed: set[str] = set()
        self.shapes_passed: set[bytes] = set()
        self.encode = encode or (lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def _remember(self, passed: set, key) -> None:
        if len(key) <= self.MAX_KEY_CHARS:
            # Results all different in shape would only fill the set: start over.
            if len(passed) >= self.MAX_REMEMBERED:
                passed.clear()
            passed.add(key)

    def validate(self, result, data: dict, *, field: str, text: str) -> bytes | None:
        """``text`` is the result's JSON encoding, which the caller needs anyway to store it.

        Returns the result's shape key when one was made (results whose text was seen before skip
        it), so that the caller can keep per-shape facts too (``shape_labels``)."""
        key = None
        if text not in self.passed:
            shape = result_shape(result)
            key = None if shape is None else shape_key(shape)
            if key is None or key not in self.shapes_passed:
                validate_result_regions(self.schema, result, field=field)
                if key is not None:
                    self._remember(self.shapes_passed, key)
            self._remember(self.passed, text)
        validate_result_spans(self.schema, result, data, field=field)
        return key


def validate_task_data(schema: LabelSchema, data, *, field: str) -> None:
    if not isinstance(data, dict):
        raise ApplicationError(_("Task data must be a JSON object."), field=field, code="invalid_data")
    missing = [name for name in schema.variables if name not in data]
    if missing:
        raise ApplicationError(
            _("Task data lacks %(missing)s, which the label config reads (it has %(present)s).")
            % {
                "missing": ", ".join(repr(name) for name in missing),
                "present": ", ".join(repr(key) for key in list(data)[:10]) or _("no fields"),
            },
            field=f"{field}.{missing[0]}",
            code="missing_variable",
        )
    _refuse_own_api_media(schema, data, field=field)


def _refuse_own_api_media(schema: LabelSchema, data: dict, *, field: str) -> None:
    """An image or media URL in task data that points at our own API (``/api/projects/1/next``) would
    make each annotator's browser call it when the task is shown: refuse the task."""
    media = schema.media_variables
    if not media:
        return
    hosts = own_hosts()
    for variable in media:
        value = data.get(variable)
        for url in value if isinstance(value, list) else [value]:
            if points_at_own_api(url, own_hosts=hosts):
                raise ApplicationError(
                    _(
                        "%(variable)r is the address of Tessera's own API (%(url)r); an image or media address may not be."
                    )
                    % {"variable": variable, "url": url[:100]},
                    field=f"{field}.{variable}",
                    code="own_api_url",
                )
