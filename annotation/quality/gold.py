"""Score an annotator's answer on a gold task against its ground truth, per control. Plain Python.

Metrics, one per control type:
- choices: accuracy, 1 when the answer's set of choices equals the truth's, else 0;
- labels (text spans): span F1 on exact (start, end, label) matches, 2·matches / (answer spans + truth
  spans), 1 when neither has a span;
- rating: absolute error, |answer - truth|.

A control is scored when the truth answers it (choices, rating) or always (labels: a truth without
spans says "no entity here"). An answer that leaves a choices control unanswered scores 0; one that
leaves a rating unanswered is not scored (there is no error to measure). Per-region answers (a choice
or rating attached to a span or shape) are not scored.

Scores are kept as running sums (``Contribution``), so that adding, changing or removing one answer
moves them by its own share, and the mean is ``total / n``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ACCURACY = "accuracy"
SPAN_F1 = "span_f1"
ABSOLUTE_ERROR = "absolute_error"

# Label Studio's control tags (lower case) and the metric each is scored with.
METRIC_BY_TAG = {"choices": ACCURACY, "labels": SPAN_F1, "rating": ABSOLUTE_ERROR}
_REGION_KEYS = ("start", "x", "points", "startOffset")


def scored_controls(control_tags: Mapping[str, str]) -> dict[str, str]:
    """The controls of a config that gold scores, with their metric: ``{name: metric}``."""
    return {
        name: METRIC_BY_TAG[tag.lower()] for name, tag in control_tags.items() if tag.lower() in METRIC_BY_TAG
    }


def _items(result: object, control: str) -> Iterable[dict]:
    if not isinstance(result, list):
        return
    for item in result:
        if (
            isinstance(item, dict)
            and item.get("from_name") == control
            and isinstance(item.get("value"), dict)
        ):
            yield item


def choice_set(result: object, control: str) -> frozenset[str] | None:
    """The task-level choices of ``control`` in a result, or None when it does not answer it."""
    for item in _items(result, control):
        value = item["value"]
        if any(key in value for key in _REGION_KEYS):
            continue
        choices = value.get("choices")
        if isinstance(choices, list):
            return frozenset(str(choice) for choice in choices)
    return None


def spans(result: object, control: str) -> set[tuple[int, int, str]]:
    """The (start, end, label) spans of a labels ``control`` in a result."""
    found: set[tuple[int, int, str]] = set()
    for item in _items(result, control):
        value = item["value"]
        start, end, labels = value.get("start"), value.get("end"), value.get("labels")
        if type(start) is int and type(end) is int and isinstance(labels, list):
            found.update((start, end, str(label)) for label in labels)
    return found


def rating(result: object, control: str) -> float | None:
    """The task-level rating of ``control`` in a result, or None."""
    for item in _items(result, control):
        value = item["value"]
        if any(key in value for key in _REGION_KEYS):
            continue
        number = value.get("rating")
        if isinstance(number, int | float) and not isinstance(number, bool):
            return float(number)
    return None


def span_f1(answer: set, truth: set) -> float:
    if not answer and not truth:
        return 1.0
    return 2 * len(answer & truth) / (len(answer) + len(truth))


def score_answer(controls: Mapping[str, str], truth: object, answer: object) -> dict[str, float]:
    """``{control: value}`` for one answer against the truth; ``controls`` is ``scored_controls``'s."""
    scores: dict[str, float] = {}
    for control, metric in controls.items():
        if metric == ACCURACY:
            expected = choice_set(truth, control)
            if expected is not None:
                scores[control] = 1.0 if choice_set(answer, control) == expected else 0.0
        elif metric == SPAN_F1:
            scores[control] = span_f1(spans(answer, control), spans(truth, control))
        elif metric == ABSOLUTE_ERROR:
            expected_rating, given = rating(truth, control), rating(answer, control)
            if expected_rating is not None and given is not None:
                scores[control] = abs(given - expected_rating)
    return scores


@dataclass(frozen=True)
class GoldAnswer:
    """One annotation of a gold task as the scorer needs it."""

    annotation_id: int
    user_id: int | None
    result: object
    was_cancelled: bool
    ground_truth: bool


# (user id, control) -> [answers scored, sum of their values]
Contribution = dict[tuple[int, str], list[float]]


def truth_of(answers: Iterable[GoldAnswer]) -> GoldAnswer | None:
    """The task's reference: its first (lowest id) ground_truth annotation that is not a skip."""
    truths = [a for a in answers if a.ground_truth and not a.was_cancelled]
    return min(truths, key=lambda a: a.annotation_id) if truths else None


def task_contribution(controls: Mapping[str, str], answers: list[GoldAnswer]) -> Contribution:
    """What one task adds to its annotators' scores: every submitted, non-ground-truth answer with an
    author, scored against the task's truth. Nothing when the task has no truth."""
    truth = truth_of(answers)
    contribution: Contribution = {}
    if truth is None:
        return contribution
    for answer in answers:
        if answer.ground_truth or answer.was_cancelled or answer.user_id is None:
            continue
        for control, value in score_answer(controls, truth.result, answer.result).items():
            cell = contribution.setdefault((answer.user_id, control), [0, 0.0])
            cell[0] += 1
            cell[1] += value
    return contribution


def contribution_delta(before: Contribution, after: Contribution) -> Contribution:
    """``after - before``, cells that did not move left out."""
    delta: Contribution = {}
    for key in before.keys() | after.keys():
        old, new = before.get(key, [0, 0.0]), after.get(key, [0, 0.0])
        n, total = new[0] - old[0], new[1] - old[1]
        if n or abs(total) > 1e-12:
            delta[key] = [n, total]
    return delta


def gold_answer_users(answers: list[GoldAnswer]) -> dict[int, int]:
    """Gold answers per user on a task with a truth: submitted, non-ground-truth answers (0 or 1 each)."""
    if truth_of(answers) is None:
        return {}
    counts: dict[int, int] = {}
    for answer in answers:
        if not answer.ground_truth and not answer.was_cancelled and answer.user_id is not None:
            counts[answer.user_id] = counts.get(answer.user_id, 0) + 1
    return counts


def control_value(metric: str, n: int, total: float) -> float | None:
    """The mean of a control's scores (accuracy, span F1, or mean absolute error), None before any."""
    return total / n if n else None


def overall_score(
    cells: Mapping[str, tuple[str, int, float]], rating_ranges: Mapping[str, float]
) -> float | None:
    """One score in 0..1 over an annotator's controls (``{control: (metric, n, total)}``), higher better:
    the mean of accuracy and span F1 as they are, and of 1 - mean error / the rating's range for ratings
    (``rating_ranges``: maxRating - 1 per rating control). None when nothing was scored."""
    values: list[float] = []
    for control, (metric, n, total) in cells.items():
        if not n:
            continue
        mean = total / n
        if metric == ABSOLUTE_ERROR:
            spread = rating_ranges.get(control) or 1.0
            values.append(max(0.0, 1.0 - mean / spread))
        else:
            values.append(mean)
    return sum(values) / len(values) if values else None
