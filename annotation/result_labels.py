"""The labels and choices present in annotation results, per control: a pure core with no ORM.

A task keeps the union over its submitted annotations in ``Task.labels`` (``{"<control>":
["<label>", ...]}``, each list sorted), so that the data table's label filter is an index lookup
(a GIN index on PostgreSQL) instead of a scan of every annotation's result JSON.
"""

from collections.abc import Iterable


def _is_option_key(key: str) -> bool:
    # A region's value names its chosen options under "choices", "labels" or a "<kind>labels" key
    # (rectanglelabels, polygonlabels, paragraphlabels, hypertextlabels, ...), as Label Studio writes
    # them; "taxonomy" holds paths (lists of strings), each level of which counts as present.
    return key == "choices" or key.endswith("labels") or key == "taxonomy"


def result_labels(result, into: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Add the options chosen in one result (a list of regions) to ``into``, keyed by control name.

    Plain loops and exact type checks: an import runs this on every annotation it writes.
    """
    found: dict[str, set[str]] = {} if into is None else into
    if type(result) is not list:
        return found
    for region in result:
        if type(region) is not dict:
            continue
        value = region.get("value")
        control = region.get("from_name")
        if type(value) is not dict or type(control) is not str:
            continue
        for key, options in value.items():
            if type(options) is not list or not _is_option_key(key):
                continue
            for option in options:
                if type(option) is str:
                    found.setdefault(control, set()).add(option)
                elif type(option) is list:
                    for part in option:
                        if type(part) is str:
                            found.setdefault(control, set()).add(part)
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


def first_label(result) -> str | None:
    """The first option chosen in a result, in region order (a task's label for stratified splits and
    single-label dataset columns), or None when the result picks none (a TextArea, a Rating)."""
    if type(result) is not list:
        return None
    for region in result:
        if type(region) is not dict:
            continue
        value = region.get("value")
        if type(value) is not dict:
            continue
        for key, options in value.items():
            if type(options) is not list or not options or not _is_option_key(key):
                continue
            option = options[0]
            if type(option) is list:  # a taxonomy path: its leaf is the label
                option = option[-1] if option else None
            if type(option) is str:
                return option
    return None
