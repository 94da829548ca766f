"""Check annotation and prediction results against a project's label config. Plain Python.

Region shapes, names, types and label values are checked by the SDK's
``LabelInterface`` (the same rules Label Studio applies). We add what needs the
task's data: span offsets must lie inside the text they point into. Offsets are
Unicode code points (Python string indexes), so Japanese and other CJK text
count one per character.
"""

import re

from annotation.label_config import TEXT_OBJECT_TAGS, LabelSchema
from tessera.errors import ApplicationError

_REGION_INDEX = re.compile(r"^Region (\d+): ")


def validate_result(schema: LabelSchema, result, data: dict, *, field: str) -> None:
    """Raise ApplicationError naming the place (e.g. ``tasks[3].annotations[0].result[2]``) and the reason.

    ``field`` is the path of the object holding the result; empty for a result at the top of a request.
    """
    base = f"{field}.result" if field else "result"
    if not isinstance(result, list):
        raise ApplicationError("result must be a list of regions.", field=base, code="invalid_result")
    errors = schema.interface.validate_prediction({"result": result}, return_errors=True)
    if errors:
        message = errors[0]
        match = _REGION_INDEX.match(message)
        location = f"{base}[{match.group(1)}]" if match else base
        raise ApplicationError(message, field=location, code="invalid_result")
    for index, region in enumerate(result):
        value = region.get("value")
        if not isinstance(value, dict) or "start" not in value or "end" not in value:
            continue
        target = schema.objects.get(region.get("to_name"))
        if target is None or target.tag not in TEXT_OBJECT_TAGS:
            continue
        text = data.get(target.variable)
        start, end = value["start"], value["end"]
        if not isinstance(text, str):
            continue
        # bool is an int to Python; true/false as offsets are a client's mistake, not 1 and 0.
        offsets_are_ints = all(isinstance(o, int) and not isinstance(o, bool) for o in (start, end))
        if not offsets_are_ints or not 0 <= start < end <= len(text):
            raise ApplicationError(
                f"Span [{start}, {end}) is outside the text of {target.variable!r} "
                f"({len(text)} characters) or empty.",
                field=f"{base}[{index}].value",
                code="span_out_of_range",
            )


def validate_task_data(schema: LabelSchema, data, *, field: str) -> None:
    if not isinstance(data, dict):
        raise ApplicationError("Task data must be a JSON object.", field=field, code="invalid_data")
    missing = [name for name in schema.variables if name not in data]
    if missing:
        raise ApplicationError(
            f"Task data lacks {', '.join(repr(name) for name in missing)}, which the label config reads "
            f"(it has {', '.join(repr(key) for key in list(data)[:10]) or 'no fields'}).",
            field=f"{field}.{missing[0]}",
            code="missing_variable",
        )
