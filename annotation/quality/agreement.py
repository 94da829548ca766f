"""Agreement between annotators, per control: pure functions over plain data, no ORM.

Everything is computed from **sufficient statistics** that add up over tasks (``task_stats``): integer
counts only, so that a task's contribution can be subtracted and added back exactly after one
annotation changes (``stats_add``), and the project's figures (``control_metrics``) read one small
document whatever the number of tasks.

Per control and task, the statistics are built from *units*: for choices, ratings, pairwise and
rankings the task is one unit and each annotation's answer its value; for spans each distinct
``(start, end)`` any annotator marked is a unit, and each annotation's value there is the label it
put on those offsets, or ``""`` (it marked nothing there). A unit needs two values to count.

- Krippendorff's alpha from the coincidence matrix: ordered pairs of values in a unit with ``m``
  values add ``1/(m-1)``; kept as integer pair counts per ``m-1`` so the sum stays exact. Nominal,
  ordinal (ratings) or interval (numbers) distances, as in Krippendorff (2011); equal to the
  ``krippendorff`` package's, tested to 1e-9 with missing data.
- Fleiss' kappa from per-unit category counts (``sum n_ij^2 - n_i`` per rater count ``n_i``, and the
  category totals). With the same number of raters on every unit it is statsmodels' ``fleiss_kappa``;
  with unequal numbers each unit's agreement uses its own ``n_i`` (statsmodels takes the largest).
- Cohen's kappa per pair of annotators from their confusion counts on units they both answered
  (for spans, units either of the two marked), unweighted as ``sklearn.metrics.cohen_kappa_score``;
  ``cohen_kappa_mean`` is the mean over the pairs where it is defined.
- Span F1: ``2 * matches / (spans of a + spans of b)`` summed over annotator pairs and shared tasks;
  exact (same start, end and label) and overlap (same label, overlapping offsets, one-to-one).
"""

from collections import Counter
from collections.abc import Iterable
from itertools import combinations
from typing import Any, NamedTuple

from annotation.quality.values import CHOICES, LABELS, LEVELS, NUMBER, RATING, TEXTAREA, UNSUPPORTED, category

NO_SPAN = ""
SEP = "\t"


class Rater(NamedTuple):
    """One submitted annotation's value for one control."""

    annotation_id: int
    user_id: int | None
    value: Any


# --- units ------------------------------------------------------------------------------------------


def _span_categories(spans: Iterable[tuple[int, int, str]]) -> dict[tuple[int, int], str]:
    """One annotation's spans as its category per offsets: the labels it put there, sorted and joined."""
    at: dict[tuple[int, int], list[str]] = {}
    for start, end, label in spans:
        at.setdefault((start, end), []).append(label)
    return {position: "|".join(sorted(labels)) for position, labels in at.items()}


def _span_units(categories: list[dict[tuple[int, int], str]]) -> dict[tuple[int, int], dict[int, str]]:
    """The units of these annotations (each given by ``_span_categories``): every offsets any of them
    marked, in order, with each annotation's category there (``NO_SPAN`` where it marked nothing)."""
    positions: set[tuple[int, int]] = set()
    for at in categories:
        positions.update(at)
    return {
        position: {index: at.get(position, NO_SPAN) for index, at in enumerate(categories)}
        for position in sorted(positions)
    }


def _span_confusion(confusion: dict[str, int], at_a: dict, at_b: dict) -> None:
    """Count two annotations' categories against each other on the units either of them marked (the
    units of ``_span_units([at_a, at_b])``, in the same order)."""
    for position in sorted(at_a.keys() | at_b.keys()):
        key = f"{at_a.get(position, NO_SPAN)}{SEP}{at_b.get(position, NO_SPAN)}"
        confusion[key] = confusion.get(key, 0) + 1


def task_units(kind: str, raters: list[Rater]) -> list[dict[int, str]]:
    """The task's units: each a mapping rater index -> category, raters without a value left out."""
    if kind == LABELS:
        return list(_span_units([_span_categories(rater.value) for rater in raters]).values())
    unit = {
        index: category(kind, rater.value) for index, rater in enumerate(raters) if rater.value is not None
    }
    return [unit] if unit else []


# --- span matching ----------------------------------------------------------------------------------


def _overlap_matches(spans_a: Iterable, spans_b: Iterable) -> Counter:
    """Per label, one-to-one matches of overlapping spans of the same label (exact ones first)."""
    left = sorted(spans_a)
    right = sorted(spans_b)
    exact = set(left) & set(right)
    matches: Counter = Counter(label for _, _, label in exact)
    free_right = [span for span in right if span not in exact]
    for start, end, label in left:
        if (start, end, label) in exact:
            continue
        for position, (other_start, other_end, other_label) in enumerate(free_right):
            if other_label == label and other_start < end and start < other_end:
                matches[label] += 1
                del free_right[position]
                break
    return matches


def span_pair_counts(spans_a: frozenset, spans_b: frozenset) -> dict[str, list[int]]:
    """Per label: [exact matches, overlap matches, spans of a + spans of b]."""
    counts: dict[str, list[int]] = {}
    for _, _, label in spans_a:
        counts.setdefault(label, [0, 0, 0])[2] += 1
    for _, _, label in spans_b:
        counts.setdefault(label, [0, 0, 0])[2] += 1
    for _, _, label in spans_a & spans_b:
        counts[label][0] += 1
    for label, matched in _overlap_matches(spans_a, spans_b).items():
        counts[label][1] += matched
    return counts


# --- a task's statistics ----------------------------------------------------------------------------


def _bump(table: dict, key: str, amount: int = 1) -> None:
    table[key] = table.get(key, 0) + amount


def _pair_key(user_a: int, user_b: int) -> tuple[str, bool]:
    """The pair's key (smaller user id first) and whether (a, b) had to be swapped."""
    if user_a <= user_b:
        return f"{user_a}{SEP}{user_b}", False
    return f"{user_b}{SEP}{user_a}", True


def task_stats(kind: str, raters: list[Rater], *, consensus=None, gold: Rater | None = None) -> dict:
    """One task's contribution to its control's statistics (a JSON document of integer counts).

    ``consensus`` is the task's consensus value for the control (or None), ``gold`` the ground truth
    annotation's value; each annotator's answers are counted against them for the confusion views.
    """
    if kind in (TEXTAREA, UNSUPPORTED):
        return {}
    stats: dict = {"tasks": 1}
    # Spans: each annotation's categories per offsets, worked out once for the task's units, every
    # pair and every reference (they are what a full recompute spends its time on).
    categories = [_span_categories(rater.value) for rater in raters] if kind == LABELS else []
    units = list(_span_units(categories).values()) if kind == LABELS else task_units(kind, raters)
    alpha: dict[str, dict[str, int]] = {}
    fleiss: dict[str, dict[str, int]] = {"subjects": {}, "agreeing": {}, "categories": {}}
    for unit in units:
        m = len(unit)
        if m < 2:
            continue
        # Counted by hand, in the order of first appearance as a Counter would (a Counter costs more to
        # build than these few values do to count).
        counts: dict[str, int] = {}
        for value in unit.values():
            counts[value] = counts.get(value, 0) + 1
        pairs = alpha.setdefault(str(m - 1), {})
        fleiss_categories = fleiss["categories"]
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                ordered = n_c * (n_c - 1) if c == k else n_c * n_k
                if ordered:
                    pair_key = f"{c}{SEP}{k}"
                    pairs[pair_key] = pairs.get(pair_key, 0) + ordered
            fleiss_categories[c] = fleiss_categories.get(c, 0) + n_c
        _bump(fleiss["subjects"], str(m))
        _bump(fleiss["agreeing"], str(m), sum(n * n for n in counts.values()) - m)
    stats["alpha"] = alpha
    stats["fleiss"] = fleiss
    support: dict[str, int] = {}
    for rater in raters:
        if rater.value is None:
            continue
        if kind == LABELS:
            for _, _, label in rater.value:
                _bump(support, label)
        elif kind == CHOICES:
            for label in rater.value:
                _bump(support, label)
        else:
            _bump(support, category(kind, rater.value))
    stats["support"] = support
    pairs_stats: dict[str, dict] = {}
    for first, second in combinations(range(len(raters)), 2):
        a, b = raters[first], raters[second]
        if a.user_id is None or b.user_id is None or a.user_id == b.user_id:
            continue
        key, swapped = _pair_key(a.user_id, b.user_id)
        if swapped:
            a, b, first, second = b, a, second, first
        pair: dict = {"tasks": 1, "confusion": {}}
        if kind == LABELS:
            _span_confusion(pair["confusion"], categories[first], categories[second])
            pair["spans"] = span_pair_counts(a.value, b.value)
        elif a.value is not None and b.value is not None:
            _bump(pair["confusion"], f"{category(kind, a.value)}{SEP}{category(kind, b.value)}")
        pairs_stats[key] = pair
    stats["pairs"] = pairs_stats
    references: dict[str, dict[str, dict[str, int]]] = {}
    for name, reference in (("consensus", consensus), ("gold", gold.value if gold is not None else None)):
        if reference is None:
            continue
        per_user: dict[str, dict[str, int]] = {}
        reference_at = _span_categories(reference) if kind == LABELS else {}
        for index, rater in enumerate(raters):
            if rater.user_id is None or (
                gold is not None and name == "gold" and rater.annotation_id == gold.annotation_id
            ):
                continue
            # Confusion counts (rater category, reference category) of one annotation against the reference.
            confusion: dict[str, int] = {}
            if kind == LABELS:
                _span_confusion(confusion, categories[index], reference_at)
            elif rater.value is not None:
                _bump(confusion, f"{category(kind, rater.value)}{SEP}{category(kind, reference)}")
            if confusion:
                per_user[str(rater.user_id)] = confusion
        if per_user:
            references[name] = per_user
    if references:
        stats["references"] = references
    return _pruned(stats)


# --- adding statistics ------------------------------------------------------------------------------


def _pruned(document: dict) -> dict:
    """Drop zero counts and empty tables, so that adding then subtracting a task restores the document."""
    pruned: dict = {}
    for key, value in document.items():
        # Counts first, as most entries are counts; an exact type test, so that a bool still takes the last branch.
        if type(value) is int:
            if value:
                pruned[key] = value
        elif isinstance(value, dict):
            inner = _pruned(value)
            if inner:
                pruned[key] = inner
        elif isinstance(value, list):
            if any(value):
                pruned[key] = value
        elif value:
            pruned[key] = value
    return pruned


def stats_add(total: dict, part: dict, sign: int = 1) -> dict:
    """``total + sign * part``, recursively (dicts of ints and lists of ints), pruned; ``total`` is changed."""
    for key, value in part.items():
        if isinstance(value, dict):
            inner = stats_add(total.get(key) or {}, value, sign)
            if inner:
                total[key] = inner
            else:
                total.pop(key, None)
        elif isinstance(value, list):
            current = total.get(key) or [0] * len(value)
            summed = [x + sign * y for x, y in zip(current, value, strict=True)]
            if any(summed):
                total[key] = summed
            else:
                total.pop(key, None)
        else:
            summed_value = total.get(key, 0) + sign * value
            if summed_value:
                total[key] = summed_value
            else:
                total.pop(key, None)
    return total


# --- metrics from statistics ------------------------------------------------------------------------


def _coincidences(alpha_stats: dict) -> dict[tuple[str, str], float]:
    matrix: dict[tuple[str, str], float] = {}
    for m_minus_one, pairs in alpha_stats.items():
        weight = int(m_minus_one)
        for key, count in pairs.items():
            c, k = key.split(SEP)
            matrix[(c, k)] = matrix.get((c, k), 0.0) + count / weight
    return matrix


def _sort_key(level: str):
    if level == "nominal":
        return lambda value: value
    return float


def alpha_from_coincidences(
    matrix: dict[tuple[str, str], float], level: str
) -> tuple[float | None, str | None]:
    marginals: dict[str, float] = {}
    for (c, _k), count in matrix.items():
        marginals[c] = marginals.get(c, 0.0) + count
    n = sum(marginals.values())
    if n <= 1:
        return None, "No task has two annotations with a value for this control."
    if sum(1 for value in marginals.values() if value > 0) < 2:
        return None, "Every annotation gives the same value: agreement is undefined with one category."
    values = sorted(marginals, key=_sort_key(level))
    if level == "interval":

        def delta(c: str, k: str) -> float:
            return (float(c) - float(k)) ** 2
    elif level == "ordinal":
        position = {value: index for index, value in enumerate(values)}
        cumulative = []
        running = 0.0
        for ordered in values:
            running += marginals[ordered]
            cumulative.append(running)

        def delta(c: str, k: str) -> float:
            low, high = sorted((position[c], position[k]))
            between = cumulative[high] - (cumulative[low - 1] if low else 0.0)
            return (between - (marginals[c] + marginals[k]) / 2) ** 2
    else:

        def delta(c: str, k: str) -> float:
            return 0.0 if c == k else 1.0

    observed = sum(value * delta(c, k) for (c, k), value in matrix.items())
    expected = sum(marginals[c] * marginals[k] * delta(c, k) for c in values for k in values) / (n - 1)
    if expected == 0:
        return None, "Every annotation gives the same value: agreement is undefined with one category."
    return 1.0 - observed / expected, None


def fleiss_from_stats(fleiss: dict) -> tuple[float | None, str | None]:
    subjects = fleiss.get("subjects") or {}
    count = sum(subjects.values())
    if not count:
        return None, "No task has two annotations with a value for this control."
    observed = sum(fleiss.get("agreeing", {}).get(m, 0) / (int(m) * (int(m) - 1)) for m in subjects) / count
    categories = fleiss.get("categories") or {}
    ratings = sum(categories.values())
    expected = sum((n / ratings) ** 2 for n in categories.values())
    if expected >= 1.0:
        return None, "Every annotation gives the same value: agreement is undefined with one category."
    return (observed - expected) / (1.0 - expected), None


def cohen_from_confusion(confusion: dict[str, int]) -> float | None:
    total = sum(confusion.values())
    if not total:
        return None
    rows: Counter = Counter()
    columns: Counter = Counter()
    diagonal = 0
    for key, count in confusion.items():
        a, b = key.split(SEP)
        rows[a] += count
        columns[b] += count
        if a == b:
            diagonal += count
    observed = diagonal / total
    expected = sum(rows[c] * columns[c] for c in rows) / (total * total)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def _binary(matrix: dict[tuple[str, str], float], label: str, kind: str) -> dict[tuple[str, str], float]:
    """The coincidence matrix collapsed to "has this label" against "has not" (a category holds labels
    joined by ``|``: several choices, or several labels on the same offsets)."""
    collapsed: dict[tuple[str, str], float] = {}
    for (c, k), value in matrix.items():
        key = (str(label in c.split("|")), str(label in k.split("|")))
        collapsed[key] = collapsed.get(key, 0.0) + value
    return collapsed


def _span_totals(pairs: dict) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = {}
    for pair in pairs.values():
        for label, counts in (pair.get("spans") or {}).items():
            current = totals.setdefault(label, [0, 0, 0])
            for index in range(3):
                current[index] += counts[index]
    return totals


def _f1(matches: int, spans: int) -> float | None:
    return 2 * matches / spans if spans else None


def control_metrics(kind: str, stats: dict, *, level: str | None = None) -> dict:
    """The agreement figures of one control from its summed statistics (see the API's contract)."""
    out: dict = {
        "type": kind, "level": level or LEVELS.get(kind), "krippendorff_alpha": None, "fleiss_kappa": None,
        "cohen_kappa_mean": None, "span_f1": None, "span_f1_overlap": None, "per_label": {}, "reason": None,
    }  # fmt: skip
    if kind == TEXTAREA:
        out["reason"] = "Free text has no agreement metric; a reviewer picks the best answer."
        return out
    if kind == UNSUPPORTED:
        out["reason"] = "Agreement is not computed for this control type."
        return out
    level = out["level"]
    matrix = _coincidences(stats.get("alpha") or {})
    alpha, reason = alpha_from_coincidences(matrix, level)
    fleiss, fleiss_reason = fleiss_from_stats(stats.get("fleiss") or {})
    pairs = stats.get("pairs") or {}
    kappas = [kappa for kappa in (cohen_from_confusion(p.get("confusion") or {}) for p in pairs.values())
              if kappa is not None]  # fmt: skip
    out["krippendorff_alpha"] = alpha
    out["fleiss_kappa"] = fleiss
    out["cohen_kappa_mean"] = sum(kappas) / len(kappas) if kappas else None
    support = stats.get("support") or {}
    if kind == LABELS:
        totals = _span_totals(pairs)
        spans = sum(counts[2] for counts in totals.values())
        out["span_f1"] = _f1(sum(counts[0] for counts in totals.values()), spans)
        out["span_f1_overlap"] = _f1(sum(counts[1] for counts in totals.values()), spans)
        for label in sorted(set(support) | set(totals)):
            counts = totals.get(label, [0, 0, 0])
            label_alpha, _ = alpha_from_coincidences(_binary(matrix, label, kind), "nominal")
            out["per_label"][label] = {
                "span_f1": _f1(counts[0], counts[2]),
                "span_f1_overlap": _f1(counts[1], counts[2]),
                "krippendorff_alpha": label_alpha,
                "support": support.get(label, 0),
            }
    elif kind == CHOICES:
        for label in sorted(support):
            label_alpha, _ = alpha_from_coincidences(_binary(matrix, label, kind), "nominal")
            out["per_label"][label] = {"krippendorff_alpha": label_alpha, "support": support[label]}
    else:
        for label in sorted(support, key=float if kind in (RATING, NUMBER) else str):
            out["per_label"][label] = {"support": support[label]}
    if reason is not None:
        out["reason"] = reason
    elif fleiss_reason is not None:
        out["reason"] = fleiss_reason
    elif not kappas:
        out["reason"] = "No pair of annotators has a defined Cohen's kappa (one category, or no shared task)."
    return out


def pair_metrics(kind: str, pair: dict) -> dict:
    """Cohen's kappa and span F1 of one annotator pair from its summed statistics."""
    totals = _span_totals({"pair": pair}) if kind == LABELS else {}
    spans = sum(counts[2] for counts in totals.values())
    return {
        "cohen_kappa": cohen_from_confusion(pair.get("confusion") or {}),
        "span_f1": _f1(sum(counts[0] for counts in totals.values()), spans) if kind == LABELS else None,
    }


def confusion_matrix(confusion: dict[str, int], kind: str) -> tuple[list[str], list[list[int]]]:
    """Labels (sorted; ``""`` is "no span here") and the matrix, rows the first side, columns the second."""
    labels: set[str] = set()
    for key in confusion:
        labels.update(key.split(SEP))
    ordered = sorted(labels, key=(lambda v: (v != NO_SPAN, float(v))) if kind in (RATING, NUMBER) else
                     (lambda v: (v != NO_SPAN, v)))  # fmt: skip
    index = {label: position for position, label in enumerate(ordered)}
    matrix = [[0] * len(ordered) for _ in ordered]
    for key, count in confusion.items():
        a, b = key.split(SEP)
        matrix[index[a]][index[b]] += count
    return ordered, matrix


# --- one task's agreement (the review policy's figure) -----------------------------------------------


def task_control_agreement(kind: str, raters: list[Rater]) -> float | None:
    """Agreement on one task for one control, in [0, 1]: the share of annotator pairs giving the same
    answer; for spans, the exact span F1 over the pairs (a pair with no spans on either side agrees).
    None with fewer than two answers, and for free text."""
    answered = [rater for rater in raters if rater.value is not None]
    if kind in (TEXTAREA, UNSUPPORTED) or len(answered) < 2:
        return None
    if kind == LABELS:
        matches = spans = agreeing_empty = 0
        pairs = 0
        for a, b in combinations(answered, 2):
            pairs += 1
            if not a.value and not b.value:
                agreeing_empty += 1
                continue
            matches += len(a.value & b.value)
            spans += len(a.value) + len(b.value)
        if not spans:
            return 1.0
        # Pairs that both left the text empty agree fully; the others weigh by their F1.
        f1 = 2 * matches / spans
        return (f1 * (pairs - agreeing_empty) + agreeing_empty) / pairs
    pairs = agreeing = 0
    for a, b in combinations(answered, 2):
        pairs += 1
        agreeing += a.value == b.value
    return agreeing / pairs
