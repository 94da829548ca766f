"""Agreement metrics from additive statistics, checked against krippendorff, statsmodels and sklearn."""

import itertools
import json
import math
import random

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from annotation.quality.agreement import (
    Rater,
    _pruned,
    confusion_matrix,
    control_metrics,
    pair_metrics,
    span_pair_counts,
    stats_add,
    task_control_agreement,
    task_stats,
)
from annotation.quality.values import (
    CHOICES,
    LABELS,
    NUMBER,
    RATING,
    TEXTAREA,
    ControlsReader,
    category,
    control_value,
    to_name,
)

USERS = [11, 12, 13, 14]


def _project_stats(kind: str, table: list[list]) -> dict:
    """``table``: one row per task, one column per user; None is missing."""
    total: dict = {}
    for row in table:
        raters = [Rater(index, USERS[col], value) for index, (col, value) in enumerate(enumerate(row))]
        stats_add(total, task_stats(kind, raters))
    return total


def _reliability(kind: str, table: list[list], codes: dict) -> np.ndarray:
    return np.array(
        [
            [np.nan if row[col] is None else codes[category(kind, row[col])] for row in table]
            for col in range(len(table[0]))
        ]  # fmt: skip
    )


def _random_table(seed: int, *, options, missing: float, users: int = 4, tasks: int = 60) -> list[list]:
    rng = random.Random(seed)
    table = []
    for _ in range(tasks):
        truth = rng.choice(options)
        table.append([
            None if rng.random() < missing else (truth if rng.random() < 0.6 else rng.choice(options))
            for _ in range(users)
        ])  # fmt: skip
    return table


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_nominal_alpha_matches_krippendorff_with_missing_data(seed, missing):
    table = _random_table(seed, options=[("a",), ("b",), ("c",)], missing=missing)
    codes = {"a": 0, "b": 1, "c": 2}
    expected = krippendorff.alpha(_reliability(CHOICES, table, codes), level_of_measurement="nominal")
    got = control_metrics(CHOICES, _project_stats(CHOICES, table))["krippendorff_alpha"]
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_ordinal_and_interval_alpha_match_krippendorff(seed, level):
    table = _random_table(seed, options=[1.0, 2.0, 3.0, 4.0, 5.0], missing=0.25)
    codes = {str(v): v for v in range(1, 6)}
    expected = krippendorff.alpha(
        _reliability(RATING, table, codes), level_of_measurement=level, value_domain=[1, 2, 3, 4, 5]
    )
    got = control_metrics(RATING, _project_stats(RATING, table), level=level)["krippendorff_alpha"]
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", [6, 7])
def test_fleiss_matches_statsmodels_with_equal_raters(seed):
    table = _random_table(seed, options=[("x",), ("y",), ("z",)], missing=0.0, users=3)
    counts = np.array([[sum(1 for v in row if v == (option,)) for option in "xyz"] for row in table])
    expected = fleiss_kappa(counts, method="fleiss")
    got = control_metrics(CHOICES, _project_stats(CHOICES, table))["fleiss_kappa"]
    assert got == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", [8, 9])
def test_cohen_mean_matches_sklearn_per_pair_on_shared_tasks(seed):
    table = _random_table(seed, options=[("a",), ("b",), ("c",)], missing=0.2, users=3)
    stats = _project_stats(CHOICES, table)
    kappas = []
    for i in range(3):
        for j in range(i + 1, 3):
            shared = [(row[i][0], row[j][0]) for row in table if row[i] is not None and row[j] is not None]
            kappa = cohen_kappa_score([a for a, _ in shared], [b for _, b in shared])
            kappas.append(kappa)
            pair = stats["pairs"][f"{USERS[i]}\t{USERS[j]}"]
            assert pair_metrics(CHOICES, pair)["cohen_kappa"] == pytest.approx(kappa, abs=1e-9)
    assert control_metrics(CHOICES, stats)["cohen_kappa_mean"] == pytest.approx(np.mean(kappas), abs=1e-9)


def test_subtracting_a_task_restores_the_statistics_exactly():
    table = _random_table(10, options=[("a",), ("b",)], missing=0.2)
    before = _project_stats(CHOICES, table[:-1])
    everything = _project_stats(CHOICES, table)
    last = table[-1]
    part = task_stats(CHOICES, [Rater(i, USERS[i], v) for i, v in enumerate(last)])
    assert stats_add(everything, part, -1) == before


def test_undefined_values_are_null_with_a_reason():
    one_annotator = _project_stats(CHOICES, [[("a",), None, None, None]])
    metrics = control_metrics(CHOICES, one_annotator)
    assert metrics["krippendorff_alpha"] is None and metrics["fleiss_kappa"] is None
    assert "two annotations" in metrics["reason"]
    one_label = control_metrics(CHOICES, _project_stats(CHOICES, [[("a",), ("a",), None, None]] * 3))
    assert one_label["krippendorff_alpha"] is None and one_label["cohen_kappa_mean"] is None
    assert "one category" in one_label["reason"]
    empty = control_metrics(LABELS, {})
    assert empty["span_f1"] is None and empty["reason"]
    assert control_metrics(TEXTAREA, {})["reason"].startswith("Free text")


def _spans(*triples) -> frozenset:
    return frozenset(triples)


def test_span_f1_exact_and_overlap_over_pairs_and_tasks():
    a = _spans((0, 5, "PER"), (10, 15, "ORG"), (20, 25, "LOC"))
    b = _spans((0, 5, "PER"), (11, 15, "ORG"))
    counts = span_pair_counts(a, b)
    assert counts == {"PER": [1, 1, 2], "ORG": [0, 1, 2], "LOC": [0, 0, 1]}
    stats = task_stats(LABELS, [Rater(1, 11, a), Rater(2, 12, b)])
    metrics = control_metrics(LABELS, stats)
    assert metrics["span_f1"] == pytest.approx(2 * 1 / 5)
    assert metrics["span_f1_overlap"] == pytest.approx(2 * 2 / 5)
    assert metrics["per_label"]["ORG"]["span_f1"] == 0.0
    assert metrics["per_label"]["ORG"]["span_f1_overlap"] == 1.0
    assert metrics["per_label"]["PER"]["support"] == 2
    # Three annotators: three pairs, each counted.
    c = _spans((0, 5, "PER"))
    stats3 = task_stats(LABELS, [Rater(1, 11, a), Rater(2, 12, b), Rater(3, 13, c)])
    # pairs: a-b 1 match / 5 spans, a-c 1 / 4, b-c 1 / 3
    assert control_metrics(LABELS, stats3)["span_f1"] == pytest.approx(2 * 3 / 12)


def test_span_values_read_code_point_offsets_in_japanese_text():
    text = "東京都の株式会社テセラ"
    result = [{"from_name": "ner", "to_name": "text", "type": "labels",
               "value": {"start": 4, "end": 11, "text": text[4:11], "labels": ["ORG"]}}]  # fmt: skip
    assert control_value(LABELS, "ner", result) == frozenset({(4, 11, "ORG")})


def test_span_alpha_units_are_offsets_with_no_span_as_a_value():
    a = _spans((0, 5, "PER"))
    b = _spans((0, 5, "ORG"))
    stats = task_stats(LABELS, [Rater(1, 11, a), Rater(2, 12, b), Rater(3, 13, a)])
    labels, matrix = confusion_matrix(stats["pairs"]["11\t12"]["confusion"], LABELS)
    assert labels == ["ORG", "PER"] and matrix == [[0, 0], [1, 0]]
    expected = krippendorff.alpha(np.array([[0], [1], [0]], dtype=float), level_of_measurement="nominal")
    assert math.isnan(expected) or control_metrics(LABELS, stats)["krippendorff_alpha"] is not None


def test_task_agreement_is_the_share_of_agreeing_pairs():
    raters = [Rater(1, 11, ("a",)), Rater(2, 12, ("a",)), Rater(3, 13, ("b",))]
    assert task_control_agreement(CHOICES, raters) == pytest.approx(1 / 3)
    assert task_control_agreement(CHOICES, raters[:1]) is None
    assert task_control_agreement(LABELS, [Rater(1, 11, frozenset()), Rater(2, 12, frozenset())]) == 1.0
    assert task_control_agreement(NUMBER, [Rater(1, 11, 2.0), Rater(2, 12, 2.0)]) == 1.0


def test_values_per_control_kind():
    result = [
        {"from_name": "c", "to_name": "t", "type": "choices", "value": {"choices": ["b", "a"]}},
        {"from_name": "r", "to_name": "t", "type": "rating", "value": {"rating": 4}},
        {"from_name": "p", "to_name": "p", "type": "pairwise", "value": {"selected": "left"}},
        {"from_name": "x", "to_name": "t", "type": "textarea", "value": {"text": ["hello"]}},
    ]
    assert control_value(CHOICES, "c", result) == ("a", "b")
    assert control_value(RATING, "r", result) == 4.0
    assert control_value("pairwise", "p", result) == "left"
    assert control_value(TEXTAREA, "x", result) == ("hello",)
    assert control_value(CHOICES, "missing", result) is None
    assert control_value(LABELS, "missing", result) == frozenset()


def _reference_span_units(raters: list[Rater]) -> dict:
    """Span units as they were computed before the categories were shared: afresh for every call."""
    labels_at: list[dict] = []
    positions: set = set()
    for rater in raters:
        at: dict = {}
        for start, end, label in rater.value:
            at.setdefault((start, end), []).append(label)
        labels_at.append(at)
        positions.update(at)
    return {
        position: {
            index: "|".join(sorted(at[position])) if position in at else ""
            for index, at in enumerate(labels_at)
        }
        for position in sorted(positions)
    }


def _reference_span_stats(raters: list[Rater], consensus, gold) -> dict:
    """``task_stats`` for spans written plainly: the units of the task, then again per pair and per
    reference (the shape the faster code must reproduce, key order included)."""
    units = list(_reference_span_units(raters).values())
    alpha: dict = {}
    fleiss: dict = {"subjects": {}, "agreeing": {}, "categories": {}}

    def bump(table: dict, key: str, amount: int = 1) -> None:
        table[key] = table.get(key, 0) + amount

    for unit in units:
        m = len(unit)
        counts: dict = {}
        for value in unit.values():
            bump(counts, value)
        pairs = alpha.setdefault(str(m - 1), {})
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                ordered = n_c * (n_c - 1) if c == k else n_c * n_k
                if ordered:
                    bump(pairs, f"{c}\t{k}", ordered)
            bump(fleiss["categories"], c, n_c)
        bump(fleiss["subjects"], str(m))
        bump(fleiss["agreeing"], str(m), sum(n * n for n in counts.values()) - m)
    support: dict = {}
    for rater in raters:
        for _, _, label in rater.value:
            bump(support, label)
    stats: dict = {"tasks": 1, "alpha": alpha, "fleiss": fleiss, "support": support, "pairs": {}}
    for a, b in itertools.combinations(raters, 2):
        if a.user_id is None or b.user_id is None or a.user_id == b.user_id:
            continue
        if a.user_id > b.user_id:
            a, b = b, a
        confusion: dict = {}
        for unit in _reference_span_units([a, b]).values():
            bump(confusion, f"{unit[0]}\t{unit[1]}")
        stats["pairs"][f"{a.user_id}\t{b.user_id}"] = {
            "tasks": 1, "confusion": confusion, "spans": span_pair_counts(a.value, b.value),
        }  # fmt: skip
    references: dict = {}
    for name, reference in (("consensus", consensus), ("gold", gold.value if gold is not None else None)):
        if reference is None:
            continue
        per_user = {}
        for rater in raters:
            if rater.user_id is None or (name == "gold" and rater.annotation_id == gold.annotation_id):
                continue
            confusion = {}
            for unit in _reference_span_units([rater, Rater(0, None, reference)]).values():
                bump(confusion, f"{unit[0]}\t{unit[1]}")
            if confusion:
                per_user[str(rater.user_id)] = confusion
        if per_user:
            references[name] = per_user
    if references:
        stats["references"] = references
    return _pruned(stats)


@pytest.mark.parametrize("seed", range(6))
def test_span_statistics_equal_the_plain_per_pair_computation(seed):
    # The span categories are worked out once per task and shared by the units, the pairs and the
    # references; the document must be the one computing them afresh gives, down to its key order.
    rng = random.Random(seed)
    for _ in range(300):
        raters = []
        for index in range(rng.randint(2, 5)):
            spans = set()
            for _ in range(rng.randint(0, 4)):
                start = rng.choice([0, 2, 3, 5, 9])
                spans.add((start, start + rng.choice([1, 2, 4]), rng.choice(["ORG", "PER", "LOC"])))
            raters.append(Rater(index, rng.choice([11, 12, 13, 14, None]), frozenset(spans)))
        consensus = rng.choice([None, frozenset(), raters[0].value | raters[-1].value])
        gold = rng.choice([None, raters[0], raters[-1]])
        expected = _reference_span_stats(raters, consensus, gold)
        actual = task_stats(LABELS, raters, consensus=consensus, gold=gold)
        assert json.dumps(actual) == json.dumps(expected)


READER_CONTROLS = [("sentiment", CHOICES), ("topic", CHOICES), ("label", LABELS), ("stars", RATING),
                   ("score", NUMBER), ("side", "pairwise"), ("order", "ranker"), ("note", TEXTAREA)]  # fmt: skip


def _odd_region(rng: random.Random) -> object:
    """A region as a result may hold it, odd shapes included (the readers must skip them alike)."""
    name = rng.choice([name for name, _ in READER_CONTROLS] + ["other", 7, None])
    value = rng.choice([
        {"choices": rng.sample(["a", "b", "東京", 3], rng.randint(0, 3))},
        {"taxonomy": [["a", "b"], ["c"], ["d", 1]], "choices": ["z"]},
        {"start": rng.choice([0, 2, 5, 2.0, None]), "end": rng.choice([4, 7, "9"]),
         "labels": rng.sample(["ORG", "PER", 5], rng.randint(0, 2)), "hypertextlabels": ["LOC"], "text": "東京"},
        {"rating": rng.choice([3, 4.5, None, "5"]), "number": rng.choice([1e-9, 7, float("nan")])},
        {"selected": rng.choice(["left", "right", "up"])},
        {"ranker": {"b": ["x", "y"], "a": ["z"], "c": "w"}},
        {"text": ["ok", 5, "東京"]},
        "not a dict",
    ])  # fmt: skip
    region = {"from_name": name, "value": value}
    if rng.random() < 0.8:
        region["to_name"] = rng.choice(["text", "text2", "", 5])
    return region if rng.random() < 0.95 else ["not", "a", "region"]


@pytest.mark.parametrize("seed", range(4))
def test_the_one_pass_reader_equals_the_value_of_each_control(seed):
    rng = random.Random(seed)
    reader = ControlsReader(READER_CONTROLS)
    for _ in range(200):
        results = [
            [_odd_region(rng) for _ in range(rng.randint(0, 6))] if rng.random() < 0.95 else None
            for _ in range(rng.randint(1, 4))
        ]
        columns, targets = reader.read(results)
        for (name, kind), column, named in zip(READER_CONTROLS, columns, targets, strict=True):
            assert column == [control_value(kind, name, result) for result in results]
            assert named == [to_name(result, name) for result in results]
