"""The data table's query language: Label Studio's data manager filters, ordering and selection.

A pure core with no ORM: ``parse_*`` turn what a client sent (query parameters or an action's body)
into a ``TaskQuery`` and refuse anything malformed with a 400 naming the field
(``filters.items[2].operator``) and the reason; ``annotation/task_query.py`` turns a ``TaskQuery``
into SQL for PostgreSQL or SQLite.

The shape, as Label Studio's data manager and label-studio-sdk send it::

    filters  = {"conjunction": "and" | "or",
                "items": [{"filter": "filter:tasks:<column>", "operator": "<op>", "type": "<Type>",
                           "value": <value>, "child_filters": [<item>, ...]}]}
    ordering = ["tasks:-total_annotations"]   (or the plain ``-total_annotations``)
    selectedItems = {"all": false, "included": [ids]} | {"all": true, "excluded": [ids]}

``filter:tasks:`` and ``filters:tasks:`` are both accepted as the column's prefix; ``type`` is read
for Label Studio's sake and not needed (the column decides how its value is read).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tessera import strict_json, validation
from tessera.errors import ApplicationError

INT64_MAX = 2**63 - 1
PREFIXES = ("filter:tasks:", "filters:tasks:")
STATES = ("unlabeled", "labeled", "skipped")
# A search term or text value longer than this is refused: nothing in a task is found faster by it.
MAX_TEXT_CHARS = 1000

INTEGER_COLUMNS = ("id", "inner_id", "total_annotations", "cancelled_annotations", "total_predictions")
DATETIME_COLUMNS = ("created_at", "updated_at")
SORTABLE = (*INTEGER_COLUMNS, "predictions_score", *DATETIME_COLUMNS)

COMPARISONS = ("equal", "not_equal", "less", "greater", "less_or_equal", "greater_or_equal")
RANGES = ("in", "not_in")
LISTS = ("in_list", "not_in_list")

# Column kind -> the operators it takes.
OPERATORS: dict[str, tuple[str, ...]] = {
    "integer": (*COMPARISONS, *RANGES, *LISTS),
    "score": (*COMPARISONS, *RANGES),
    "datetime": ("less", "greater", "less_or_equal", "greater_or_equal", *RANGES),
    "data": ("equal", "not_equal", "contains", "not_contains", "search", "empty", *LISTS),
    "state": ("equal", "not_equal", *LISTS),
    "annotators": ("contains", "not_contains", "equal", "not_equal", "in", "not_in", *LISTS),
    "labels": ("contains", "not_contains", "equal", "not_equal", "empty", *LISTS),
    "model_versions": ("equal", "not_equal", "contains", "not_contains", *LISTS),
}


def column_kind(column: str) -> str | None:
    if column in INTEGER_COLUMNS:
        return "integer"
    if column in DATETIME_COLUMNS:
        return "datetime"
    if column == "predictions_score":
        return "score"
    if column == "state":
        return "state"
    if column in ("completed_by", "annotators"):
        return "annotators"
    if column == "labels" or column.startswith("labels:"):
        return "labels"
    if column == "predictions_model_versions":
        return "model_versions"
    if column.startswith("data.") and len(column) > len("data."):
        return "data"
    return None


@dataclass(frozen=True)
class Condition:
    """One filter item. ``key`` is the data field (``data.<key>``) or the label control
    (``labels:<key>``); ``value`` is already checked and normalised for the operator."""

    column: str
    kind: str
    key: str | None
    operator: str
    value: Any
    children: tuple["Condition", ...] = ()


@dataclass(frozen=True)
class Ordering:
    column: str
    descending: bool


@dataclass(frozen=True)
class Selection:
    """``all`` false: only ``ids``; ``all`` true: every task but ``ids``."""

    all: bool
    ids: tuple[int, ...]


@dataclass(frozen=True)
class TaskQuery:
    conjunction: str = "and"
    conditions: tuple[Condition, ...] = ()
    ordering: Ordering | None = None
    selection: Selection | None = None

    @property
    def narrows(self) -> bool:
        """Whether the query can leave out tasks (so that the project's counters no longer count it)."""
        return bool(self.conditions) or (
            self.selection is not None and not (self.selection.all and not self.selection.ids)
        )


@dataclass
class Limits:
    max_items: int
    max_ids: int
    count: list[int] = field(default_factory=lambda: [0])


# ---- reading what the client sent --------------------------------------------------------------


def _json(text: str, *, field: str) -> Any:
    try:
        value = strict_json.loads(text)
    except ValueError as exc:
        raise ApplicationError(
            _("%(field)s is not valid JSON: %(exc)s.") % {"field": field, "exc": exc},
            field=field,
            code="invalid_json",
        ) from None
    validation.check_json(value, field=field)
    return value


def _integer(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT64_MAX:
        raise ApplicationError(
            _("%(field)s must be an integer.") % {"field": field}, field=field, code="invalid_value"
        )
    return value


def _number(value: Any, *, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApplicationError(
            _("%(field)s must be a number.") % {"field": field}, field=field, code="invalid_value"
        )
    if isinstance(value, int) and abs(value) > INT64_MAX:
        raise ApplicationError(
            _("%(field)s is out of range.") % {"field": field}, field=field, code="invalid_value"
        )
    return float(value)


def _text(value: Any, *, field: str, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise ApplicationError(
            _("%(field)s must be a string.") % {"field": field}, field=field, code="invalid_value"
        )
    if len(value) > MAX_TEXT_CHARS:
        raise ApplicationError(
            _("%(field)s may be at most %(limit)s characters.") % {"field": field, "limit": MAX_TEXT_CHARS},
            field=field,
            code="invalid_value",
        )
    if not allow_empty and not value.strip():
        raise ApplicationError(
            _("%(field)s must not be empty.") % {"field": field}, field=field, code="invalid_value"
        )
    return value


def _datetime(value: Any, *, field: str) -> datetime:
    parsed = None
    if isinstance(value, str) and len(value) <= 64:
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ApplicationError(
            _("%(field)s must be an ISO 8601 date and time (2026-01-31T09:00:00Z).") % {"field": field},
            field=field,
            code="invalid_value",
        )
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _list(value: Any, *, field: str, limits: Limits) -> list:
    if not isinstance(value, list) or not value:
        raise ApplicationError(
            _("%(field)s must be a non-empty list.") % {"field": field}, field=field, code="invalid_value"
        )
    if len(value) > limits.max_ids:
        raise ApplicationError(
            _("%(field)s may hold at most %(max_ids)s values.") % {"field": field, "max_ids": limits.max_ids},
            field=field,
            code="too_many",
        )
    return value


def _scalar_reader(kind: str):
    """How one value of this column is read (for comparisons and list items)."""
    if kind == "integer":
        return _integer
    if kind == "score":
        return _number
    if kind == "datetime":
        return _datetime
    if kind == "annotators":
        return lambda value, *, field: _integer(value, field=field)
    if kind == "state":

        def state(value, *, field):
            if value not in STATES:
                raise ApplicationError(
                    _("%(field)s must be one of %(values)s.") % {"field": field, "values": ", ".join(STATES)},
                    field=field,
                    code="invalid_value",
                )
            return value

        return state
    if kind == "data":

        def data_value(value, *, field):
            # Numbers are compared as the text they are stored as ("5", "1.5").
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(
                    _number(value, field=field) if isinstance(value, float) else _integer(value, field=field)
                )
            return _text(value, field=field)

        return data_value
    return lambda value, *, field: _text(value, field=field, allow_empty=False)


def _value(kind: str, operator: str, value: Any, *, field: str, limits: Limits) -> Any:
    read = _scalar_reader(kind)
    if operator == "empty":
        if not isinstance(value, bool):
            raise ApplicationError(
                _("%(field)s must be true or false.") % {"field": field}, field=field, code="invalid_value"
            )
        return value
    if operator in LISTS or (kind == "annotators" and operator in RANGES):
        items = _list(value, field=field, limits=limits)
        return tuple(read(item, field=f"{field}[{index}]") for index, item in enumerate(items))
    if operator in RANGES:
        if not isinstance(value, dict) or set(value) - {"min", "max"} or not {"min", "max"} <= set(value):
            raise ApplicationError(
                _('%(field)s must be {"min": …, "max": …} for %(operator)s.')
                % {"field": field, "operator": operator},
                field=field,
                code="invalid_value",
            )
        low, high = read(value["min"], field=f"{field}.min"), read(value["max"], field=f"{field}.max")
        return (low, high)
    if operator == "search":
        terms = tuple(_text(value, field=field, allow_empty=False).split())
        return terms
    if operator in ("contains", "not_contains") and kind == "data":
        return _text(value, field=field, allow_empty=False)
    return read(value, field=field)


def _condition(item: Any, *, field: str, limits: Limits, child: bool = False) -> Condition:
    limits.count[0] += 1
    if limits.count[0] > limits.max_items:
        raise ApplicationError(
            _("A filter may hold at most %(max_items)s items.") % {"max_items": limits.max_items},
            field=field,
            code="too_many",
        )
    if not isinstance(item, dict):
        raise ApplicationError(
            _("%(field)s must be an object.") % {"field": field}, field=field, code="invalid_filter"
        )
    name = item.get("filter")
    if not isinstance(name, str):
        raise ApplicationError(
            _("%(field)s.filter must name a column (filter:tasks:<column>).") % {"field": field},
            field=f"{field}.filter",
            code="required",
        )
    prefix = next((prefix for prefix in PREFIXES if name.startswith(prefix)), None)
    column = name[len(prefix) :] if prefix else ""
    kind = column_kind(column)
    if kind is None:
        raise ApplicationError(
            _(
                "%(field)s.filter: unknown column %(name)r; columns are filter:tasks:<column> with id, inner_id, "
                "data.<field>, state, annotators, completed_by, labels, labels:<control>, total_annotations, "
                "cancelled_annotations, total_predictions, predictions_model_versions, predictions_score, "
                "created_at, updated_at."
            )
            % {"field": field, "name": name[:100]},
            field=f"{field}.filter",
            code="unknown_column",
        )
    operator = item.get("operator")
    allowed = OPERATORS[kind]
    if operator not in allowed:
        raise ApplicationError(
            _("%(field)s.operator: %(operator)r does not apply to %(column)s; use one of %(allowed)s.")
            % {
                "field": field,
                "operator": str(operator)[:40],
                "column": column,
                "allowed": ", ".join(allowed),
            },
            field=f"{field}.operator",
            code="unknown_operator",
        )
    if "type" in item and not isinstance(item["type"], str):
        raise ApplicationError(
            _("%(field)s.type must be a string.") % {"field": field},
            field=f"{field}.type",
            code="invalid_value",
        )
    if "value" not in item:
        raise ApplicationError(
            _("%(field)s.value is required.") % {"field": field}, field=f"{field}.value", code="required"
        )
    value = _value(kind, operator, item["value"], field=f"{field}.value", limits=limits)
    key = None
    if kind == "data":
        key = column[len("data.") :]
    elif kind == "labels" and column.startswith("labels:"):
        key = column[len("labels:") :]
        if not key:
            raise ApplicationError(
                _("%(field)s.filter: labels:<control> needs a control name.") % {"field": field},
                field=f"{field}.filter",
                code="unknown_column",
            )
    children: tuple[Condition, ...] = ()
    raw_children = item.get("child_filters")
    if raw_children is not None:
        if child or not isinstance(raw_children, list):
            raise ApplicationError(
                _("%(field)s.child_filters must be a list of filter items (one level deep).")
                % {"field": field},
                field=f"{field}.child_filters",
                code="invalid_filter",
            )
        children = tuple(
            _condition(sub, field=f"{field}.child_filters[{index}]", limits=limits, child=True)
            for index, sub in enumerate(raw_children)
        )
    return Condition(column=column, kind=kind, key=key, operator=operator, value=value, children=children)


def parse_filters(value: Any, *, field: str, limits: Limits) -> tuple[str, tuple[Condition, ...]]:
    if value is None:
        return "and", ()
    if not isinstance(value, dict):
        raise ApplicationError(
            _('%(field)s must be an object: {"conjunction": "and", "items": [...]}.') % {"field": field},
            field=field,
            code="invalid_filter",
        )
    conjunction = value.get("conjunction", "and")
    if conjunction not in ("and", "or"):
        raise ApplicationError(
            _('%(field)s.conjunction must be "and" or "or".') % {"field": field},
            field=f"{field}.conjunction",
            code="invalid_value",
        )
    items = value.get("items", [])
    if not isinstance(items, list):
        raise ApplicationError(
            _("%(field)s.items must be a list.") % {"field": field},
            field=f"{field}.items",
            code="invalid_filter",
        )
    conditions = tuple(
        _condition(item, field=f"{field}.items[{index}]", limits=limits) for index, item in enumerate(items)
    )
    return conjunction, conditions


def parse_ordering(value: Any, *, field: str) -> Ordering | None:
    """``-total_annotations``, ``tasks:-total_annotations`` or a list holding one of those."""
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        if len(value) != 1:
            raise ApplicationError(
                _("%(field)s takes one column.") % {"field": field}, field=field, code="invalid_ordering"
            )
        value = value[0]
    if not isinstance(value, str):
        raise ApplicationError(
            _("%(field)s must name a column.") % {"field": field}, field=field, code="invalid_ordering"
        )
    name = value.strip()
    descending = False
    for prefix in ("tasks:", "filter:tasks:", "filters:tasks:"):
        if name.removeprefix("-").startswith(prefix):
            descending = name.startswith("-")
            name = name.removeprefix("-")[len(prefix) :]
            break
    if name.startswith("-"):
        descending, name = True, name[1:]
    if name not in SORTABLE:
        raise ApplicationError(
            _(
                "%(field)s: cannot sort by %(value)r; sort by one of %(sortable)s (a leading - for descending)."
            )
            % {"field": field, "value": value[:100], "sortable": ", ".join(SORTABLE)},
            field=field,
            code="invalid_ordering",
        )
    return Ordering(column=name, descending=descending)


def parse_selection(value: Any, *, field: str, limits: Limits) -> Selection | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("all"), bool):
        raise ApplicationError(
            _('%(field)s must be {"all": false, "included": [ids]} or {"all": true, "excluded": [ids]}.')
            % {"field": field},
            field=field,
            code="invalid_selection",
        )
    name = "excluded" if value["all"] else "included"
    ids = value.get(name, [])
    if not isinstance(ids, list):
        raise ApplicationError(
            _("%(field)s.%(name)s must be a list of task ids.") % {"field": field, "name": name},
            field=f"{field}.{name}",
            code="invalid_selection",
        )
    if len(ids) > limits.max_ids:
        raise ApplicationError(
            _("%(field)s.%(name)s may hold at most %(max_ids)s ids.")
            % {"field": field, "name": name, "max_ids": limits.max_ids},
            field=f"{field}.{name}",
            code="too_many",
        )
    return Selection(
        all=value["all"],
        ids=tuple(_integer(task_id, field=f"{field}.{name}[{index}]") for index, task_id in enumerate(ids)),
    )


def _maybe_json(text: str | None, *, field: str) -> Any:
    if text is None:
        return None
    return _json(text, field=field)


def parse_query_params(params: Mapping[str, str], *, limits: Limits) -> TaskQuery:
    """``filters``, ``ordering``, ``selectedItems`` and Label Studio's ``query`` (which holds all three)."""
    query = _maybe_json(params.get("query"), field="query")
    if query is not None and not isinstance(query, dict):
        raise ApplicationError(
            _('query must be an object: {"filters": …, "ordering": […], "selectedItems": …}.'),
            field="query",
            code="invalid_filter",
        )
    query = query or {}
    filters_source, filters_field = query.get("filters"), "query.filters"
    if params.get("filters") is not None:
        filters_source, filters_field = _json(params["filters"], field="filters"), "filters"
    conjunction, conditions = parse_filters(filters_source, field=filters_field, limits=limits)
    ordering_text = params.get("ordering")
    if ordering_text is not None:
        raw = ordering_text.strip()
        ordering = parse_ordering(
            _json(raw, field="ordering") if raw.startswith("[") else raw, field="ordering"
        )
    else:
        ordering = parse_ordering(query.get("ordering"), field="query.ordering")
    selection_text = params.get("selectedItems")
    if selection_text is not None:
        selection = parse_selection(
            _json(selection_text, field="selectedItems"), field="selectedItems", limits=limits
        )
    else:
        selection = parse_selection(query.get("selectedItems"), field="query.selectedItems", limits=limits)
    return TaskQuery(conjunction=conjunction, conditions=conditions, ordering=ordering, selection=selection)


def parse_action_body(body: Mapping[str, Any], *, limits: Limits) -> TaskQuery:
    """An action's body: ``filters`` (object), ``selectedItems`` (object), ``ordering`` (ignored for
    the result, read for its errors)."""
    conjunction, conditions = parse_filters(body.get("filters"), field="filters", limits=limits)
    parse_ordering(body.get("ordering"), field="ordering")
    selection = parse_selection(body.get("selectedItems"), field="selectedItems", limits=limits)
    if selection is None:
        raise ApplicationError(
            _(
                'selectedItems is required: {"all": false, "included": [ids]} or {"all": true, "excluded": [ids]}.'
            ),
            field="selectedItems",
            code="required",
        )
    return TaskQuery(conjunction=conjunction, conditions=conditions, selection=selection)
