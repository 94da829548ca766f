"""One annotation's value for one control of the label config, as the agreement and consensus cores read it.

Plain Python, no ORM. Kinds:

- ``choices`` (Choices, Taxonomy): the chosen options as a sorted tuple; single choice is a 1-tuple;
  ``None`` when the annotator chose nothing (missing data, not a category).
- ``labels`` (Labels, HyperTextLabels, ParagraphLabels... with ``start``/``end``): a frozenset of
  ``(start, end, label)`` spans, offsets in code points as the results hold them (Japanese counts one
  per character); an annotation without spans has the empty set, which is an answer ("nothing here").
- ``rating`` (Rating, ordinal) and ``number`` (Number, interval): a float or ``None``.
- ``pairwise``: ``"left"`` or ``"right"`` or ``None``.
- ``ranker``: the order as a tuple of tuples, or ``None``.
- ``textarea``: the texts as a tuple, or ``None`` (no agreement metric; consensus by a reviewer's pick).
Anything else (boxes, polygons, key points...) is ``unsupported``: the metrics say so with a reason.
"""

from typing import Any

from annotation.label_config import ControlSpec

CHOICES, LABELS, RATING, NUMBER, PAIRWISE, RANKER, TEXTAREA, UNSUPPORTED = (
    "choices", "labels", "rating", "number", "pairwise", "ranker", "textarea", "unsupported",
)  # fmt: skip

# Spans are offsets into text; image and audio labels share the "labels" suffix but not the shape.
_SPAN_TAGS = {"labels", "hypertextlabels", "paragraphlabels"}

# Krippendorff's level of measurement per kind.
LEVELS = {CHOICES: "nominal", LABELS: "nominal", PAIRWISE: "nominal", RANKER: "nominal",
          RATING: "ordinal", NUMBER: "interval"}  # fmt: skip


def control_kind(spec: ControlSpec) -> str:
    tag = spec.tag
    if tag in ("choices", "taxonomy"):
        return CHOICES
    if tag in _SPAN_TAGS:
        return LABELS
    if tag in (RATING, NUMBER, PAIRWISE, RANKER, TEXTAREA):
        return tag
    return UNSUPPORTED


def _regions(result, control: str) -> list[dict]:
    if type(result) is not list:
        return []
    return [
        region
        for region in result
        if type(region) is dict and region.get("from_name") == control and type(region.get("value")) is dict
    ]


def _number(value) -> float | None:
    if type(value) in (int, float) and value == value:  # not NaN
        return float(value)
    return None


def control_value(kind: str, control: str, result):
    """The value of ``control`` in one annotation's ``result`` (see the module docstring)."""
    return value_of(kind, _regions(result, control))


def _add_spans(spans: set, value: dict) -> None:
    """A span region's ``(start, end, label)`` spans, added to ``spans``."""
    start, end = value.get("start"), value.get("end")
    if type(start) is not int or type(end) is not int:
        return
    for key, labels in value.items():
        if type(labels) is list and key.endswith("labels"):
            for label in labels:
                if type(label) is str:
                    spans.add((start, end, label))


def _add_choices(chosen: set, value: dict) -> None:
    """A choices or taxonomy region's options, added to ``chosen`` (a taxonomy path joined by ``/``)."""
    for option in value.get("choices") or []:
        if type(option) is str:
            chosen.add(option)
    for path in value.get("taxonomy") or []:
        if type(path) is list and all(type(part) is str for part in path):
            chosen.add("/".join(path))


def value_of(kind: str, regions) -> object:
    """A control's value from its regions (``_regions``' list): see the module docstring."""
    if kind == LABELS:
        spans: set[tuple[int, int, str]] = set()
        for region in regions:
            _add_spans(spans, region["value"])
        return frozenset(spans)
    if kind == CHOICES:
        chosen: set[str] = set()
        for region in regions:
            _add_choices(chosen, region["value"])
        return tuple(sorted(chosen)) if chosen else None
    if kind == RATING or kind == NUMBER:
        for region in regions:
            number = _number(region["value"].get(kind))
            if number is not None:
                return number
        return None
    if kind == PAIRWISE:
        for region in regions:
            side = region["value"].get("selected")
            if side in ("left", "right"):
                return side
        return None
    if kind == RANKER:
        for region in regions:
            ranked = region["value"].get("ranker")
            if type(ranked) is dict:
                return tuple(
                    (str(bucket), tuple(str(item) for item in items))
                    for bucket, items in sorted(ranked.items())
                    if type(items) is list
                )
        return None
    if kind == TEXTAREA:
        texts = []
        for region in regions:
            for text in region["value"].get("text") or []:
                if type(text) is str:
                    texts.append(text)
        return tuple(texts) if texts else None
    return None


def category(kind: str, value) -> str:
    """A value as a category key (a string, so that sufficient statistics are JSON)."""
    if kind == CHOICES:
        return "|".join(value)
    if kind in (RATING, NUMBER):
        return repr(int(value)) if value == int(value) else repr(value)
    if kind == RANKER:
        return ";".join(f"{bucket}:{','.join(items)}" for bucket, items in value)
    return str(value)


def to_name(result, control: str) -> str | None:
    """The object a control's region points at in a result (copied into consensus regions)."""
    return to_name_of(_regions(result, control))


def to_name_of(regions) -> str | None:
    for region in regions:
        name = region.get("to_name")
        if type(name) is str:
            return name
    return None


class ControlsReader:
    """Every control's value and target in one pass over each result: what ``control_value`` and
    ``to_name`` give, without a pass per control nor, for spans and choices (the kinds a full recompute
    reads hundreds of thousands of times), the list of the control's regions."""

    def __init__(self, controls: list[tuple[str, str]]) -> None:
        """``controls``: (name, kind) of each control read, in the order of the columns returned."""
        self.kinds = [kind for _, kind in controls]
        self.slots = {name: (index, kind) for index, (name, kind) in enumerate(controls)}
        self.nothing = [value_of(kind, ()) for kind in self.kinds]

    def read(self, results: list) -> tuple[list[list], list[list]]:
        """Per control, each result's value of it and the target its regions name (``to_name_of``: None
        for none), in the order of ``results``."""
        count = len(results)
        columns = [[nothing] * count for nothing in self.nothing]
        targets: list[list] = [[None] * count for _ in self.kinds]
        slots = self.slots
        for position, result in enumerate(results):
            if type(result) is not list:
                continue
            found: dict[int, Any] = {}
            for region in result:
                if type(region) is not dict:
                    continue
                name = region.get("from_name")
                if type(name) is not str:
                    continue
                slot = slots.get(name)
                if slot is None:
                    continue
                value = region.get("value")
                if type(value) is not dict:
                    continue
                index, kind = slot
                named = targets[index]
                if named[position] is None:
                    to_name = region.get("to_name")
                    if type(to_name) is str:
                        named[position] = to_name
                parts = found.get(index)
                if kind == LABELS:
                    if parts is None:
                        parts = found[index] = set()
                    _add_spans(parts, value)
                elif kind == CHOICES:
                    if parts is None:
                        parts = found[index] = set()
                    _add_choices(parts, value)
                else:
                    if parts is None:
                        parts = found[index] = []
                    parts.append(region)
            for index, parts in found.items():
                kind = self.kinds[index]
                if kind == LABELS:
                    columns[index][position] = frozenset(parts)
                elif kind == CHOICES:
                    columns[index][position] = tuple(sorted(parts)) if parts else None
                else:
                    columns[index][position] = value_of(kind, parts)
        return columns, targets
