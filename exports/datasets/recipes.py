"""A dataset recipe, checked and normalised: every key present, defaults filled in, a 400 naming the field
for anything wrong. Pure: the checks that need the database (a recipe that selects nothing, a group
field no selected task has) are the service's (exports/services_datasets.py).

The normalised recipe is what a version stores, so two requests that mean the same build store the same
recipe::

    {"name", "tasks": {"filters", "selectedItems"} | None, "review": [states] | None,
     "min_agreement": float | None, "gold": "include" | "exclude" | "only",
     "result": "consensus" | "reviewed" | "latest" | "all", "splits": {split: ratio},
     "seed": int, "stratify": bool, "group_by": str | None,
     "dedup": {"exact": bool, "near_threshold": float | None},
     "redact": {"kinds": [kind], "patterns": [regex]}, "formats": [name]}
"""

import math
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from annotation.models import ReviewState
from annotation.task_filters import Limits, TaskQuery, parse_filters, parse_selection
from exports.datasets.items import DatasetContext
from exports.datasets.storage import SPLIT_NAMES
from exports.formats.datasets import DATASET_FORMATS
from tessera import validation
from tessera.errors import ApplicationError

KEYS = (
    "name", "tasks", "review", "min_agreement", "gold", "result", "splits", "seed", "stratify",
    "group_by", "dedup", "redact", "formats",
)  # fmt: skip
RESULTS = ("consensus", "reviewed", "latest", "all")
GOLD = ("include", "exclude", "only")
SPLIT_SUM_TOLERANCE = 1e-6
MAX_NAME_CHARS = 200
MAX_SEED = 2**31 - 1
MAX_PATTERNS = 50


def _bad(message: str, field: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, field=field, code=code)


def _name(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
        raise _bad(
            _("name must be text of at most %(limit)s characters.") % {"limit": MAX_NAME_CHARS}, "name"
        )
    validation.check_json(value, field="name")
    return value.strip()


def _tasks(value: Any, limits: Limits) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= {"filters", "selectedItems"}:
        raise _bad(_('tasks must be the data table\'s filter: {"filters": …, "selectedItems": …}.'), "tasks")
    validation.check_json(value, field="tasks")
    parse_filters(value.get("filters"), field="tasks.filters", limits=limits)
    parse_selection(value.get("selectedItems"), field="tasks.selectedItems", limits=limits)
    return {"filters": value.get("filters"), "selectedItems": value.get("selectedItems")}


def tasks_query(tasks: dict | None, limits: Limits) -> TaskQuery | None:
    """The data table query of a normalised recipe's ``tasks``; None selects the whole project."""
    if tasks is None:
        return None
    conjunction, conditions = parse_filters(tasks.get("filters"), field="tasks.filters", limits=limits)
    selection = parse_selection(tasks.get("selectedItems"), field="tasks.selectedItems", limits=limits)
    query = TaskQuery(conjunction=conjunction, conditions=conditions, selection=selection)
    return query if query.narrows else None


def _review(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or any(v not in ReviewState.values for v in value):
        raise _bad(
            _("review must be a non-empty list of review states: %(states)s.")
            % {"states": ", ".join(ReviewState.values)},
            "review",
        )
    return sorted(set(value))


def _ratio(value: Any, field: str, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(_("%(field)s must be a number.") % {"field": field}, field)
    number = float(value)
    if number > 1 or number < 0 or (low_open and number == 0):
        raise _bad(
            _("%(field)s must be in (0, 1].") % {"field": field}
            if low_open
            else _("%(field)s must be between 0 and 1.") % {"field": field},
            field,
        )
    return number


def _choice(value: Any, field: str, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in choices:
        raise _bad(
            _("%(field)s must be one of %(choices)s.") % {"field": field, "choices": ", ".join(choices)},
            field,
        )
    return value


def _splits(value: Any) -> dict[str, float]:
    if value is None:
        return {"train": 1.0}
    if not isinstance(value, dict) or not value:
        raise _bad(_("splits must be an object of split names and ratios."), "splits")
    splits: dict[str, float] = {}
    for name in SPLIT_NAMES:  # stored in a fixed order, whatever order the client wrote
        if name in value:
            splits[name] = _ratio(value[name], f"splits.{name}")
    unknown = sorted(set(value) - set(SPLIT_NAMES))
    if unknown:
        raise _bad(
            _("Unknown split %(name)r; splits are named %(names)s.")
            % {"name": unknown[0], "names": ", ".join(SPLIT_NAMES)},
            "splits",
        )
    if abs(sum(splits.values()) - 1.0) > SPLIT_SUM_TOLERANCE:
        raise _bad(
            _("The split ratios must sum to 1 (they sum to %(total)s).")
            % {"total": round(sum(splits.values()), 9)},
            "splits",
            "splits_sum",
        )
    return {name: ratio for name, ratio in splits.items() if ratio > 0}


def _seed(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise _bad(_("seed must be an integer from 0 to %(max)s.") % {"max": MAX_SEED}, "seed")
    return value


def _group_by(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise _bad(_("group_by must be the name of a task data field."), "group_by")
    validation.check_json(value, field="group_by")
    return value


def _dedup(value: Any) -> dict:
    if value is None or value is False:
        return {"exact": False, "near_threshold": None}
    if value is True:
        return {"exact": True, "near_threshold": None}
    if not isinstance(value, dict) or not set(value) <= {"exact", "near_threshold"}:
        raise _bad(_('dedup must be {"exact": true|false, "near_threshold": a number in (0, 1]}.'), "dedup")
    threshold = value.get("near_threshold")
    return {
        "exact": validation.flag(value.get("exact", False), field="dedup.exact", default=False),
        "near_threshold": None
        if threshold is None
        else _ratio(threshold, "dedup.near_threshold", low_open=True),
    }


def _redact(value: Any) -> dict:
    """Kinds by name and project patterns as ``{"pattern": "<regex>"}`` entries of one list (the shape
    exports/datasets/redaction.parse_redact reads), or ``{"kinds": […], "patterns": […]}``."""
    if value is None:
        return {"kinds": [], "patterns": []}
    if isinstance(value, list):
        kinds = [entry for entry in value if isinstance(entry, str)]
        patterns = [
            entry["pattern"] for entry in value if isinstance(entry, dict) and set(entry) == {"pattern"}
        ]
        if len(kinds) + len(patterns) != len(value):
            raise _bad(_('redact must list kinds by name and {"pattern": …} objects.'), "redact")
        value = {"kinds": kinds, "patterns": patterns}
    if not isinstance(value, dict) or not set(value) <= {"kinds", "patterns"}:
        raise _bad(_('redact must be a list of kinds, or {"kinds": […], "patterns": […]}.'), "redact")
    kinds, patterns = value.get("kinds") or [], value.get("patterns") or []
    if not isinstance(kinds, list) or any(not isinstance(kind, str) for kind in kinds):
        raise _bad(_("redact must list kinds by name."), "redact")
    if (
        not isinstance(patterns, list)
        or len(patterns) > MAX_PATTERNS
        or any(not isinstance(p, str) or not p for p in patterns)
    ):
        raise _bad(
            _("redact.patterns must be a list of at most %(limit)s regular expressions.")
            % {"limit": MAX_PATTERNS},
            "redact.patterns",
        )
    validation.check_json(patterns, field="redact.patterns")
    return {"kinds": sorted(set(kinds)), "patterns": patterns}


def _formats(value: Any, context: DatasetContext, *, required: bool) -> list[str]:
    if not required and value in (None, []):
        return []
    if not isinstance(value, list) or not value or any(not isinstance(name, str) for name in value):
        raise _bad(_("formats must list at least one format by name."), "formats", "required")
    names = list(dict.fromkeys(value))
    for name in names:
        fmt = DATASET_FORMATS.get(name)
        if fmt is None:
            raise _bad(
                _("Unknown format %(name)r; use one of %(formats)s.")
                % {"name": name[:100], "formats": ", ".join(sorted(DATASET_FORMATS)) or "-"},
                "formats",
                "unsupported_format",
            )
        reason = fmt.fits(context)
        if reason is not None:
            raise _bad(
                _("The format %(name)s does not fit this project: %(reason)s")
                % {"name": name, "reason": reason},
                "formats",
                "format_unfit",
            )
    return names


def split_ratios(recipe: dict) -> dict[str, float]:
    """The recipe's splits in their fixed order (train, validation, test): a stored recipe's JSON object
    may come back with its keys in another order (PostgreSQL's jsonb sorts them)."""
    return {name: recipe["splits"][name] for name in SPLIT_NAMES if name in recipe["splits"]}


def recipe_parse(
    body: Any, *, context: DatasetContext, limits: Limits, formats_required: bool = True
) -> dict:
    """The normalised recipe of a request body; ApplicationError (400, naming the field) otherwise.

    ``formats_required`` false: a Label Studio snapshot, whose items are kept and converted to the
    format each download asks for."""
    if not isinstance(body, Mapping):
        raise _bad(_("The recipe must be a JSON object."), "recipe")
    unknown = sorted(set(body) - set(KEYS))
    if unknown:
        raise _bad(_("Unknown recipe key %(key)r.") % {"key": str(unknown[0])[:100]}, str(unknown[0])[:100])
    min_agreement = body.get("min_agreement")
    recipe = {
        "name": _name(body.get("name")),
        "tasks": _tasks(body.get("tasks"), limits),
        "review": _review(body.get("review")),
        "min_agreement": None if min_agreement is None else _ratio(min_agreement, "min_agreement"),
        "gold": _choice(body.get("gold"), "gold", GOLD, "include"),
        "result": _choice(body.get("result"), "result", RESULTS, "latest"),
        "splits": _splits(body.get("splits")),
        "seed": _seed(body.get("seed")),
        "stratify": validation.flag(body.get("stratify", False), field="stratify", default=False),
        "group_by": _group_by(body.get("group_by")),
        "dedup": _dedup(body.get("dedup")),
        "redact": _redact(body.get("redact")),
        "formats": _formats(body.get("formats"), context, required=formats_required),
    }
    return recipe
