"""The labels and choices present in annotation results, per control: a pure core with no ORM.

A task keeps the union over its submitted annotations in ``Task.labels`` (``{"<control>":
["<label>", ...]}``, each list sorted), so that the data table's label filter is an index lookup
(a GIN index on PostgreSQL) instead of a scan of every annotation's result JSON.
"""

from collections.abc import Iterable

# A region's value names its chosen options under "choices", "labels" or a "<kind>labels" key
# (rectanglelabels, polygonlabels, paragraphlabels, hypertextlabels, ...), as Label Studio writes them.
_EXTRA_KEYS = frozenset({"choices", "taxonomy"})


def _option_lists(value: dict) -> Iterable[list]:
    for key, options in value.items():
        if isinstance(options, list) and (key in _EXTRA_KEYS or key.endswith("labels")):
            yield options


def _strings(options: list) -> Iterable[str]:
    for option in options:
        if isinstance(option, str):
            yield option
        elif isinstance(option, list):
            # Taxonomy paths are lists of strings; each level counts as present.
            yield from (part for part in option if isinstance(part, str))


def result_labels(result, into: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Add the options chosen in one result (a list of regions) to ``into``, keyed by control name."""
    found: dict[str, set[str]] = {} if into is None else into
    if not isinstance(result, list):
        return found
    for region in result:
        if not isinstance(region, dict):
            continue
        control, value = region.get("from_name"), region.get("value")
        if not isinstance(control, str) or not isinstance(value, dict):
            continue
        for options in _option_lists(value):
            labels = set(_strings(options))
            if labels:
                found.setdefault(control, set()).update(labels)
    return found


def labels_document(found: dict[str, set[str]]) -> dict[str, list[str]]:
    """The stored form: controls and their labels sorted, so equal sets store equal JSON."""
    return {control: sorted(found[control]) for control in sorted(found)}


def task_labels(results: Iterable) -> dict[str, list[str]]:
    """``Task.labels`` for a task whose submitted annotations have these results."""
    found: dict[str, set[str]] = {}
    for result in results:
        result_labels(result, found)
    return labels_document(found)
