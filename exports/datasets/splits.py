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
from array import array
from collections.abc import Iterable, Sequence
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


class SplitRows:
    """(task id, group, label) rows held as columns: task ids in an ``array('q')``, each group and label
    as an index into its own list of distinct values. A ``SplitRow`` per item cost a hundred bytes at a
    million tasks (an object, its int and the list's pointer); these cost 20 and the distinct values.
    Group codes number the groups in order of first appearance, label code 0 is no label."""

    def __init__(self) -> None:
        self.task_ids = array("q")
        self.group_codes = array("q")  # -1: no group
        self.label_codes = array("I")  # a free-text taxonomy may have more than 65,535 labels
        self.groups: dict[str, int] = {}
        self.labels: list[str | None] = [None]
        self._label_codes: dict[str | None, int] = {None: 0}

    def append(self, task_id: int, group: str | None, label: str | None) -> None:
        self.task_ids.append(task_id)
        self.group_codes.append(-1 if group is None else self.groups.setdefault(group, len(self.groups)))
        code = self._label_codes.get(label)
        if code is None:
            code = self._label_codes[label] = len(self.labels)
            self.labels.append(label)
        self.label_codes.append(code)

    def extend(self, other: "SplitRows") -> None:
        """Another part's rows after these, renumbered as if they had been appended one by one (its groups
        and labels are in order of first appearance, so new ones get the codes they would have got)."""
        self.task_ids.extend(other.task_ids)
        groups = np.array(
            [*(self.groups.setdefault(group, len(self.groups)) for group in other.groups), -1], dtype=np.int64
        )
        # Code -1 (no group) indexes the last entry, -1 again.
        self.group_codes.frombytes(groups[np.frombuffer(other.group_codes, dtype=np.int64)].tobytes())
        labels = np.zeros(len(other.labels), dtype=np.uint32)
        for index, label in enumerate(other.labels):
            code = self._label_codes.get(label)
            if code is None:
                code = self._label_codes[label] = len(self.labels)
                self.labels.append(label)
            labels[index] = code
        self.label_codes.frombytes(labels[np.frombuffer(other.label_codes, dtype=np.uint32)].tobytes())

    def __len__(self) -> int:
        return len(self.task_ids)

    def group_names(self) -> list[str]:
        return list(self.groups)

    @classmethod
    def of(cls, rows: Iterable[SplitRow]) -> "SplitRows":
        compact = cls()
        for row in rows:
            compact.append(row.task_id, row.group, row.label)
        return compact


def assign_splits(
    rows: Sequence[SplitRow] | SplitRows,
    *,
    ratios: dict[str, float],
    seed: int,
    stratify: bool,
    grouped: bool,
) -> dict[int, str]:
    """task id -> split name (see ``split_codes``)."""
    compact = rows if isinstance(rows, SplitRows) else SplitRows.of(rows)
    codes, names = split_codes(compact, ratios=ratios, seed=seed, stratify=stratify, grouped=grouped)
    return {task_id: names[code] for task_id, code in zip(compact.task_ids, codes.tolist(), strict=True)}


_RANK_CHUNK = 65_536


def split_codes(
    rows: SplitRows, *, ratios: dict[str, float], seed: int, stratify: bool, grouped: bool
) -> tuple[np.ndarray, list[str]]:
    """(each row's split as an index into the names, the names of the splits with a ratio above 0).

    Units are numbered and their ranks, sizes and strata held in numpy arrays: at a million tasks a
    Python object per unit cost more memory than the rows themselves. A unit's order is (hash rank,
    groups before single tasks, the group's name or the task's id), so ties of the 64-bit rank too are
    broken the same way on every run."""
    seed_key = seed.to_bytes(8, "big")
    task_ids = np.frombuffer(rows.task_ids, dtype=np.int64)
    row_groups = np.frombuffer(rows.group_codes, dtype=np.int64)
    label_codes = np.frombuffer(rows.label_codes, dtype=np.uint32)
    group_names = rows.group_names() if grouped else []
    in_group = row_groups >= 0 if grouped else np.zeros(len(rows), dtype=bool)
    singles = np.flatnonzero(~in_group)  # row index of each single-task unit, in unit order after the groups
    group_count = len(group_names)
    unit_count = group_count + len(singles)
    unit_of_row = np.empty(len(rows), dtype=np.int64)
    unit_of_row[in_group] = row_groups[in_group]
    unit_of_row[singles] = group_count + np.arange(len(singles), dtype=np.int64)
    rank = np.empty(unit_count, dtype=np.uint64)
    kind = np.zeros(unit_count, dtype=np.int8)
    ident = np.empty(unit_count, dtype=np.int64)
    for order, code in enumerate(sorted(range(group_count), key=group_names.__getitem__)):
        rank[code] = _rank(seed_key, b"g" + group_names[code].encode())
        ident[code] = order
    single_ids = task_ids[singles]
    # A page of task ids at a time: a Python int per task, all at once, would be 36 MB a million.
    for start in range(0, len(single_ids), _RANK_CHUNK):
        page = single_ids[start : start + _RANK_CHUNK].tolist()
        rank[group_count + start : group_count + start + len(page)] = [
            _rank(seed_key, b"t" + task_id.to_bytes(8, "big", signed=True)) for task_id in page
        ]
    kind[group_count:] = 1
    ident[group_count:] = single_ids
    del single_ids
    size = np.bincount(unit_of_row, minlength=unit_count)
    stratum_names: list[str] = [""]
    stratum = np.zeros(unit_count, dtype=np.int32)
    if stratify:
        # A stratum per label name, no label counting as "" (two label codes may share one).
        stratum_names = sorted({label or "" for label in rows.labels})
        of_label = np.array([stratum_names.index(label or "") for label in rows.labels], dtype=np.int32)
        row_stratum = of_label[label_codes]
        stratum[group_count:] = row_stratum[singles]
        if group_count:
            # A group's stratum is its most common label, ties by name (names are sorted, so by code):
            # independent of the order the rows came in.
            pairs = unit_of_row[in_group] * len(stratum_names) + row_stratum[in_group].astype(np.int64)
            pair, count = np.unique(pairs, return_counts=True)
            unit, code = np.divmod(pair, len(stratum_names))
            best = np.lexsort((code, -count, unit))
            unit, code = unit[best], code[best]
            first = np.ones(len(unit), dtype=bool)
            first[1:] = unit[1:] != unit[:-1]
            stratum[unit[first]] = code[first]
        del row_stratum
    # The row-sized arrays the units were made from: a million tasks' worth is 9 MB more at the peak.
    del singles, in_group
    names = [name for name in ratios if ratios[name] > 0]
    ordered = range(len(stratum_names))  # the names are sorted
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
    return split_of_unit[unit_of_row], names


def first_label(result: list) -> str | None:
    """The first label of a result: the first region's first choice, label or taxonomy path."""
    for region in result or ():
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict):
            continue
        # The label keys in sorted order; only they are sorted (a region's value holds a few other keys,
        # and this runs once per item of a build).
        keys = [key for key in value if key == "choices" or key == "taxonomy" or key.endswith("labels")]
        if len(keys) > 1:
            keys.sort()
        for key in keys:
            picked = value[key]
            if isinstance(picked, list) and picked:
                first = picked[0]
                if isinstance(first, list):
                    first = "/".join(str(part) for part in first)
                return str(first)
    return None
