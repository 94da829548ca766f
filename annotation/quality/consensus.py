"""A task's consensus result per control from its submitted annotations: pure functions, no ORM.

- choices: majority vote. When no annotation chose more than one option, the most chosen option wins
  (a tie between the top ones is a tie); otherwise each option is kept when a strict majority of the
  annotations chose it (exactly half is a tie).
- spans: a span (same start, end and label) wins with a strict majority of the annotations; a span
  marked by exactly half is a tie. Partial overlaps count for agreement, never for consensus.
- ratings and numbers: the median is the value, the mean goes along in the region's ``meta``.
- pairwise and rankings: the majority answer; a tie between the top ones is a tie.
- free text: none, unless a reviewer marked the best annotation (``best_annotation_id``).
A tie leaves that control out of the result and flags the task (``tie``): it goes to review.
"""

from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from annotation.quality.agreement import Rater
from annotation.quality.values import CHOICES, LABELS, NUMBER, PAIRWISE, RANKER, RATING, TEXTAREA


@dataclass
class ControlConsensus:
    value: object = None  # in values.control_value's form; None: no consensus
    tie: bool = False
    regions: list[dict] = field(default_factory=list)


def _top(votes: Counter) -> tuple[Any, bool]:
    ranked = votes.most_common()
    if not ranked:
        return None, False
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None, True
    return ranked[0][0], False


def _region(control: str, to_name: str, kind: str, index: int, value: dict, **extra) -> dict:
    return {"id": f"consensus-{control}-{index}", "from_name": control, "to_name": to_name, "type": kind,
            "origin": "consensus", "value": value, **extra}  # fmt: skip


def control_consensus(
    kind: str,
    control: str,
    tag: str,
    to_name: str,
    raters: list[Rater],
    *,
    best_annotation_id: int | None = None,
    best_result: list | None = None,
) -> ControlConsensus:
    """``tag`` is the control's tag in lower case (the regions' ``type``); ``best_result`` is the result of
    ``best_annotation_id`` (for free text)."""
    answered = [rater for rater in raters if rater.value is not None]
    if kind == TEXTAREA:
        if best_annotation_id is None or best_result is None:
            return ControlConsensus()
        regions = [dict(region, origin="consensus") for region in best_result
                   if isinstance(region, dict) and region.get("from_name") == control]  # fmt: skip
        best = next((rater.value for rater in raters if rater.annotation_id == best_annotation_id), None)
        return ControlConsensus(value=best, regions=regions)
    if kind == LABELS:
        total = len(raters)
        if total == 0:
            return ControlConsensus()
        votes: Counter = Counter()
        for rater in raters:
            votes.update(rater.value)
        winners = frozenset(span for span, count in votes.items() if 2 * count > total)
        tie = any(2 * count == total for count in votes.values())
        regions = [
            _region(control, to_name, tag, index, {"start": start, "end": end, "labels": [label]})
            for index, (start, end, label) in enumerate(sorted(winners))
        ]
        return ControlConsensus(value=winners, tie=tie, regions=regions)
    if not answered:
        return ControlConsensus()
    if kind == CHOICES:
        if all(len(rater.value) <= 1 for rater in answered):
            winner, tie = _top(Counter(rater.value for rater in answered))
            chosen = winner
        else:
            counts: Counter = Counter()
            for rater in answered:
                counts.update(rater.value)
            total = len(answered)
            chosen = tuple(sorted(label for label, count in counts.items() if 2 * count > total)) or None
            tie = any(2 * count == total for count in counts.values())
        if chosen is None:
            return ControlConsensus(tie=tie)
        key = "taxonomy" if tag == "taxonomy" else "choices"
        options = [option.split("/") for option in chosen] if key == "taxonomy" else list(chosen)
        return ControlConsensus(
            value=chosen, tie=tie, regions=[_region(control, to_name, tag, 0, {key: options})]
        )
    if kind in (RATING, NUMBER):
        numbers = [float(rater.value) for rater in answered]
        middle = median(numbers)
        mean = sum(numbers) / len(numbers)
        return ControlConsensus(
            value=middle,
            regions=[
                _region(control, to_name, tag, 0, {kind: middle}, meta={"mean": mean, "median": middle})
            ],
        )
    if kind in (PAIRWISE, RANKER):
        winner, tie = _top(Counter(rater.value for rater in answered))
        if winner is None:
            return ControlConsensus(tie=tie)
        if kind == PAIRWISE:
            value = {"selected": winner}
        else:
            value = {"ranker": {bucket: list(items) for bucket, items in winner}}
        return ControlConsensus(value=winner, tie=tie, regions=[_region(control, to_name, tag, 0, value)])
    return ControlConsensus()
