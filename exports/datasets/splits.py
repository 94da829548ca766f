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
from collections.abc import Iterable
from dataclasses import dataclass


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


# (hash rank, kind, group or task id): the kind keeps a group and a task apart on a tie of ranks, so the
# third items compared are always of one type.
UnitKey = tuple[int, int, str | int]


def _rank(seed_key: bytes, unit: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(unit, digest_size=8, key=seed_key).digest(), "big")


def _label_of_unit(labels: list[str | None]) -> str:
    if len(labels) == 1:
        return labels[0] or ""
    counted = Counter("" if label is None else label for label in labels)
    # The unit's most common label, ties by name: independent of the order the rows came in.
    return min(counted, key=lambda label: (-counted[label], label))


def assign_splits(
    rows: Iterable[SplitRow], *, ratios: dict[str, float], seed: int, stratify: bool, grouped: bool
) -> dict[int, str]:
    """task id -> split name.

    Units are kept as lists of rows keyed by their hash rank, not by strings: at a million tasks a
    string key per task cost more memory than the rows themselves."""
    seed_key = seed.to_bytes(8, "big")
    # The unit's rows by its key; a task without the group field (or every task, ungrouped) is a unit alone.
    units: dict[UnitKey, list[SplitRow]] = {}
    key: UnitKey
    for row in rows:
        if grouped and row.group is not None:
            group = row.group.encode()
            key = (_rank(seed_key, b"g" + group), 0, row.group)
        else:
            key = (_rank(seed_key, b"t" + row.task_id.to_bytes(8, "big", signed=True)), 1, row.task_id)
        units.setdefault(key, []).append(row)
    strata: dict[str, list[UnitKey]] = {}
    for key, members in units.items():
        stratum = _label_of_unit([m.label for m in members]) if stratify else ""
        strata.setdefault(stratum, []).append(key)
    names = [name for name in ratios if ratios[name] > 0]
    ordered = sorted(strata)
    targets = _stratum_targets({s: sum(len(units[key]) for key in strata[s]) for s in ordered}, ratios, names)
    assigned: dict[int, str] = {}
    for stratum in ordered:
        keys = sorted(strata.pop(stratum))
        # Consecutive runs of the hash order: a unit goes to the split whose run holds its midpoint.
        bounds, total = [], 0
        for name in names:
            total += targets[stratum][name]
            bounds.append((total, name))
        position = 0.0
        for key in keys:
            members = units.pop(key)
            middle = position + len(members) / 2
            split = next((name for bound, name in bounds if middle < bound), names[-1])
            position += len(members)
            for member in members:
                assigned[member.task_id] = split
    return assigned


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
