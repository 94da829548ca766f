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


def regions_by_control(result, controls) -> dict[str, list[dict]]:
    """One pass over a result: the regions of each control named in ``controls`` (a set or dict), kept
    as ``_regions`` keeps them, so that ``value_of(kind, found.get(name, ()))`` equals ``control_value``."""
    found: dict[str, list[dict]] = {}
    if type(result) is not list:
        return found
    for region in result:
        if type(region) is dict:
            name = region.get("from_name")
            if type(name) is str and name in controls and type(region.get("value")) is dict:
                found.setdefault(name, []).append(region)
    return found


def control_value(kind: str, control: str, result):
    """The value of ``control`` in one annotation's ``result`` (see the module docstring)."""
    return value_of(kind, _regions(result, control))


def value_of(kind: str, regions) -> object:
    """A control's value from its regions (``_regions``' list): see the module docstring."""
    if kind == LABELS:
        spans: set[tuple[int, int, str]] = set()
        for region in regions:
            value = region["value"]
            start, end = value.get("start"), value.get("end")
            if type(start) is not int or type(end) is not int:
                continue
            for key, labels in value.items():
                if type(labels) is list and key.endswith("labels"):
                    for label in labels:
                        if type(label) is str:
                            spans.add((start, end, label))
        return frozenset(spans)
    if kind == CHOICES:
        chosen: set[str] = set()
        for region in regions:
            value = region["value"]
            for option in value.get("choices") or []:
                if type(option) is str:
                    chosen.add(option)
            for path in value.get("taxonomy") or []:
                if type(path) is list and all(type(part) is str for part in path):
                    chosen.add("/".join(path))
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
