"""The recipe's curation steps by name, and the order they run in: exact dedup, near dedup, redaction.

Each entry builds its step from the recipe. The step modules are imported only when a recipe asks for
them, so that a recipe without ``dedup`` or ``redact`` never depends on them; a recipe that asks for a
step whose module is not installed is refused with a 400 when it is checked.
"""

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext
from exports.datasets.steps import CurationStep
from tessera.errors import ApplicationError

DEDUP_MODULE = "exports.datasets.dedup"
REDACTION_MODULE = "exports.datasets.redaction"


def _module(name: str, *, field: str) -> ModuleType:
    if importlib.util.find_spec(name) is None:
        raise ApplicationError(
            _("%(field)s is not available on this server.") % {"field": field},
            field=field,
            code="not_available",
        )
    return importlib.import_module(name)


def _dedup_exact(recipe: dict, context: DatasetContext) -> CurationStep:
    return _module(DEDUP_MODULE, field="dedup").exact_step(recipe["dedup"])


def _dedup_near(recipe: dict, context: DatasetContext) -> CurationStep:
    return _module(DEDUP_MODULE, field="dedup").near_step(recipe["dedup"]["near_threshold"])


def _redact(recipe: dict, context: DatasetContext) -> CurationStep:
    redact = recipe["redact"]
    return _module(REDACTION_MODULE, field="redact").redact_step(
        redact["kinds"], patterns=tuple(redact["patterns"])
    )


# Steps that decide each item alone, so that a build may run them over parts of the items at once; the
# deduplication steps keep the first of two copies in task order and see every item in one process.
PER_ITEM_STEPS = frozenset({"redact"})

# name -> (recipe, context) -> the step. The names are the StepReport names the version shows.
CURATION_STEPS: dict[str, Callable[[dict, DatasetContext], CurationStep]] = {
    "dedup_exact": _dedup_exact,
    "dedup_near": _dedup_near,
    "redact": _redact,
}


def steps_wanted(recipe: dict) -> list[str]:
    """The names of the steps a (normalised) recipe runs, in order."""
    names = []
    if recipe["dedup"]["exact"]:
        names.append("dedup_exact")
    if recipe["dedup"]["near_threshold"] is not None:
        names.append("dedup_near")
    if recipe["redact"]["kinds"] or recipe["redact"]["patterns"]:
        names.append("redact")
    return names


def steps_check(recipe: dict) -> None:
    """400 if the recipe asks for a step this server lacks; the redaction module checks its kinds."""
    wanted = steps_wanted(recipe)
    if "dedup_exact" in wanted or "dedup_near" in wanted:
        _module(DEDUP_MODULE, field="dedup")
    if "redact" in wanted:
        redaction = _module(REDACTION_MODULE, field="redact")
        parse = getattr(redaction, "parse_redact", None)
        if parse is not None:
            # Its own shape: kinds and {"pattern": …} entries in one list; it compiles the patterns.
            parse([*recipe["redact"]["kinds"], *({"pattern": p} for p in recipe["redact"]["patterns"])])


def steps_build(recipe: dict, context: DatasetContext) -> list[tuple[str, CurationStep]]:
    return [(name, CURATION_STEPS[name](recipe, context)) for name in steps_wanted(recipe)]
