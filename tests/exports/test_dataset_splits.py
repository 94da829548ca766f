"""Split assignment: exact ratios, determinism, stratification, and no group across splits."""

from collections import Counter

from exports.datasets.splits import SplitRow, assign_splits, first_label, largest_remainder

RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}


def rows(n: int, *, groups: int | None = None, labels=("a", "b")) -> list[SplitRow]:
    return [
        SplitRow(
            task_id, None if groups is None else f"doc-{task_id % groups}", labels[task_id % len(labels)]
        )
        for task_id in range(1, n + 1)
    ]


def test_largest_remainder_sums_to_the_total_and_follows_the_ratios():
    assert largest_remainder(10, RATIOS) == {"train": 8, "validation": 1, "test": 1}
    assert largest_remainder(7, RATIOS) == {"train": 5, "validation": 1, "test": 1}
    assert sum(largest_remainder(12345, RATIOS).values()) == 12345


def test_ungrouped_splits_hit_the_ratios_exactly():
    assigned = assign_splits(rows(1000), ratios=RATIOS, seed=0, stratify=False, grouped=False)
    assert Counter(assigned.values()) == {"train": 800, "validation": 100, "test": 100}


def test_same_seed_gives_the_same_splits_and_another_seed_others():
    first = assign_splits(rows(500), ratios=RATIOS, seed=7, stratify=True, grouped=False)
    again = assign_splits(list(reversed(rows(500))), ratios=RATIOS, seed=7, stratify=True, grouped=False)
    other = assign_splits(rows(500), ratios=RATIOS, seed=8, stratify=True, grouped=False)
    assert first == again
    assert first != other


def test_stratified_splits_keep_each_labels_share():
    data = rows(1000, labels=("a", "a", "a", "b"))  # 750 a, 250 b
    assigned = assign_splits(data, ratios=RATIOS, seed=0, stratify=True, grouped=False)
    per = Counter((assigned[row.task_id], row.label) for row in data)
    assert (per["train", "a"], per["validation", "a"], per["test", "a"]) == (600, 75, 75)
    assert (per["train", "b"], per["validation", "b"], per["test", "b"]) == (200, 25, 25)


def test_no_group_crosses_splits():
    data = rows(1000, groups=37)
    assigned = assign_splits(data, ratios=RATIOS, seed=3, stratify=False, grouped=True)
    splits_of_group: dict[str, set[str]] = {}
    for row in data:
        splits_of_group.setdefault(row.group, set()).add(assigned[row.task_id])
    assert all(len(splits) == 1 for splits in splits_of_group.values())
    # Every split still gets groups, near its share (within one group of 28 tasks).
    counts = Counter(assigned.values())
    assert abs(counts["train"] - 800) <= 28 and counts["validation"] > 0 and counts["test"] > 0


def test_adding_tasks_moves_few_old_ones():
    before = assign_splits(rows(1000), ratios=RATIOS, seed=0, stratify=False, grouped=False)
    after = assign_splits(rows(1100), ratios=RATIOS, seed=0, stratify=False, grouped=False)
    moved = sum(before[task_id] != after[task_id] for task_id in before)
    assert moved < 50


def test_first_label_reads_choices_labels_and_taxonomy():
    assert first_label([{"value": {"choices": ["Positive"]}}]) == "Positive"
    assert first_label([{"value": {"start": 0, "end": 1, "labels": ["ORG"]}}]) == "ORG"
    assert first_label([{"value": {"rectanglelabels": ["Cat"]}}]) == "Cat"
    assert first_label([{"value": {"taxonomy": [["Animal", "Cat"]]}}]) == "Animal/Cat"
    assert first_label([{"value": {"text": ["free"]}}]) is None
    assert first_label([]) is None


def test_first_label_takes_the_label_keys_in_sorted_order_whatever_the_values_key_order():
    value = {"text": "x", "taxonomy": [["A", "B"]], "labels": ["L"], "choices": ["C"], "start": 0}
    assert first_label([{"value": value}]) == "C"
    assert first_label([{"value": {"taxonomy": [["A", "B"]], "hypertextlabels": ["H"]}}]) == "H"
    assert first_label([{"value": {"taxonomy": [["A", "B"]], "labels": []}}]) == "A/B"
    assert first_label([{"value": {"labels": []}}, {"value": {"labels": ["Second"]}}]) == "Second"
