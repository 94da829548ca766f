"""Split assignment: deterministic given the seed, exact ratios by largest remainder, stratified by label,
and grouped by a data field so that no group crosses splits. Pure: it sees (task id, group, label) rows.

A unit is a task, or with ``group_by`` every task of one group (a task without the field is a group of
its own). Units are ordered by a keyed hash of (seed, unit), so a unit's place does not depend on which
other units exist: adding tasks moves few of the old ones. Per stratum (one label, or everything when
not stratified) the target task count of each split is the largest-remainder rounding of its ratio;
units then go, in hash order, to the split furthest below its target. With single-task units this hits
every target exactly; with groups each split ends within one group of it.
"""

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class SplitRow:
    task_id: int
    group: str | None
    label: str | None


def largest_remainder(total: int, ratios: dict[str, float]) -> dict[str, int]:
    """Integer counts summing to ``total``, each as near its ratio as can be (ties in the ratios' order)."""
    exact = {name: total * ratio for name, ratio in ratios.items()}
    counts = {name: int(value) for name, value in exact.items()}
    left = total - sum(counts.values())
    order = sorted(ratios, key=lambda name: (-(exact[name] - counts[name]), list(ratios).index(name)))
    for name in order[:left]:
        counts[name] += 1
    return counts


def _stratum_targets(
    sizes: dict[str, int], ratios: dict[str, float], names: list[str]
) -> dict[str, dict[str, int]]:
    """Per stratum, the tasks each split gets: the floors of each stratum's quotas, then the seats left
    over given by largest remainder so that the splits' totals are the largest-remainder rounding of the
    whole (rounding each stratum alone would drift: two strata of 5 at 0.5 would give 6 and 4)."""
    totals = largest_remainder(sum(sizes.values()), {name: ratios[name] for name in names})
    targets = {s: {name: int(size * ratios[name]) for name in names} for s, size in sizes.items()}
    column_left = {name: totals[name] - sum(targets[s][name] for s in sizes) for name in names}
    row_left = {s: size - sum(targets[s].values()) for s, size in sizes.items()}
    remainders = sorted(
        ((size * ratios[name] - targets[s][name], s, name) for s, size in sizes.items() for name in names),
        key=lambda entry: (-entry[0], entry[1], names.index(entry[2])),
    )
    for _fraction, s, name in remainders:
        if row_left[s] > 0 and column_left[name] > 0:
            targets[s][name] += 1
            row_left[s] -= 1
            column_left[name] -= 1
    # Whatever the greedy pass could not place (both sums agree, so something always fits).
    for s in sizes:
        for name in names:
            extra = min(row_left[s], column_left[name])
            targets[s][name] += extra
            row_left[s] -= extra
            column_left[name] -= extra
    return targets


def _rank(seed_key: bytes, unit: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(unit, digest_size=8, key=seed_key).digest(), "big")


def _label_of_unit(labels: list[str | None]) -> str:
    if len(labels) == 1:
        return labels[0] or ""
    counted = Counter("" if label is None else label for label in labels)
    # The unit's most common label, ties by name: independent of the order the rows came in.
    return min(counted, key=lambda label: (-counted[label], label))


def assign_splits(
    rows: Sequence[SplitRow], *, ratios: dict[str, float], seed: int, stratify: bool, grouped: bool
) -> dict[int, str]:
    """task id -> split name.

    Units are numbered and their ranks, sizes and strata held in numpy arrays: at a million tasks a
    Python object per unit cost more memory than the rows themselves. A unit's order is (hash rank,
    groups before single tasks, the group's name or the task's id), so ties of the 64-bit rank too are
    broken the same way on every run."""
    seed_key = seed.to_bytes(8, "big")
    groups: dict[str, int] = {}
    unit_of_row = np.empty(len(rows), dtype=np.int64)
    singles: list[int] = []  # row index of each single-task unit, in unit order after the groups
    for index, row in enumerate(rows):
        if grouped and row.group is not None:
            unit_of_row[index] = groups.setdefault(row.group, len(groups))
        else:
            unit_of_row[index] = -1 - len(singles)
            singles.append(index)
    group_count = len(groups)
    # Single-task units come after the groups: -1 - k becomes group_count + k.
    singles_rows = unit_of_row < 0
    unit_of_row[singles_rows] = group_count - 1 - unit_of_row[singles_rows]
    unit_count = group_count + len(singles)
    rank = np.empty(unit_count, dtype=np.uint64)
    kind = np.zeros(unit_count, dtype=np.int8)
    ident = np.empty(unit_count, dtype=np.int64)
    for order, name in enumerate(sorted(groups)):
        code = groups[name]
        rank[code] = _rank(seed_key, b"g" + name.encode())
        ident[code] = order
    for k, index in enumerate(singles):
        task_id = rows[index].task_id
        rank[group_count + k] = _rank(seed_key, b"t" + task_id.to_bytes(8, "big", signed=True))
        kind[group_count + k] = 1
        ident[group_count + k] = task_id
    size = np.bincount(unit_of_row, minlength=unit_count)
    stratum_names: list[str] = [""]
    stratum = np.zeros(unit_count, dtype=np.int32)
    if stratify:
        codes: dict[str, int] = {}
        members: dict[int, list[str | None]] = {}
        for index, row in enumerate(rows):
            unit = int(unit_of_row[index])
            if unit < group_count:
                members.setdefault(unit, []).append(row.label)
            else:
                stratum[unit] = codes.setdefault(row.label or "", len(codes))
        for unit, labels in members.items():
            stratum[unit] = codes.setdefault(_label_of_unit(labels), len(codes))
        stratum_names = list(codes)
    names = [name for name in ratios if ratios[name] > 0]
    ordered = sorted(range(len(stratum_names)), key=lambda code: stratum_names[code])
    sizes = {stratum_names[code]: int(size[stratum == code].sum()) for code in ordered}
    targets = _stratum_targets(sizes, ratios, names)
    split_of_unit = np.zeros(unit_count, dtype=np.int8)
    for code in ordered:
        units = np.flatnonzero(stratum == code)
        units = units[np.lexsort((ident[units], kind[units], rank[units]))]
        # Consecutive runs of the hash order: a unit goes to the split whose run holds its midpoint.
        bounds = np.cumsum([targets[stratum_names[code]][name] for name in names])
        ends = np.cumsum(size[units])
        middles = ends - size[units] / 2
        split_of_unit[units] = np.minimum(np.searchsorted(bounds, middles, side="right"), len(names) - 1)
    split_of_row = split_of_unit[unit_of_row]
    return {row.task_id: names[split] for row, split in zip(rows, split_of_row.tolist(), strict=True)}


def first_label(result: list) -> str | None:
    """The first label of a result: the first region's first choice, label or taxonomy path."""
    for region in result or ():
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict):
            continue
        for key in sorted(value):
            if key == "choices" or key.endswith("labels") or key == "taxonomy":
                picked = value[key]
                if isinstance(picked, list) and picked:
                    first = picked[0]
                    if isinstance(first, list):
                        first = "/".join(str(part) for part in first)
                    return str(first)
    return None
