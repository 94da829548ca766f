"""Every task's share of a project's agreement in one pass, for a full recompute: pure Python, no ORM.

``TaskShares.share`` gives exactly what ``annotation.services.quality._task_share`` gives for the same
task (agreement, per-control agreement, consensus, tie, statistics), already serialised as JSON text for
COPY, and ``TaskShares.totals`` the project's summed statistics. It is fast because the per-task work
repeats: a control's share of one task depends only on who answered what (in annotation order), on
whether the overlap is reached, on which answer is the ground truth and on the regions' target, so
each distinct case is computed once, by the same cores the incremental path calls
(``task_stats``, ``task_control_agreement``, ``control_consensus``), and looked up afterwards.

Spans are looked up by their *shape*: every offset a task's annotators marked (starts and ends
together) is replaced by its rank among them. The statistics hold no offsets (categories are labels or
"no span here", units are compared by equality and order, overlaps by ``<`` between starts and ends),
and a strictly increasing renumbering keeps every equality and order, so two tasks of the same shape
have the same statistics, agreement and consensus up to the offsets, which the consensus regions get
back from the ranks. Different texts labelled alike therefore share one entry.

The project's totals are each distinct share times the number of tasks that had it, added once.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from annotation.quality.agreement import Rater, stats_add, task_control_agreement, task_stats
from annotation.quality.consensus import control_consensus
from annotation.quality.values import LABELS, TEXTAREA, UNSUPPORTED, regions_by_control, to_name_of, value_of

# Distinct cases kept before their counts are folded into the totals and the table starts afresh: a
# bound on memory for projects whose answers hardly repeat.
MAX_CASES = 200_000


@dataclass(frozen=True)
class Control:
    """A control of the label config as the quality code reads it."""

    name: str
    kind: str
    tag: str
    to_name: str


class _Case:
    """One control's share of every task with the same answers: computed once, counted per use."""

    __slots__ = ("stats", "stats_json", "agreement", "agreement_json", "winners", "tie", "consensus_json", "uses")

    def __init__(self, stats: dict, name_json: str, agreement: float | None, winners, tie: bool,
                 consensus_json: str | None) -> None:  # fmt: skip
        self.stats = stats
        self.stats_json = f"{name_json}:{_dumps(stats)}" if stats else None
        self.agreement = agreement
        self.agreement_json = f"{name_json}:{_dumps(agreement)}"
        self.winners = winners  # spans: the consensus spans in ranks, in region order
        self.tie = tie
        self.consensus_json = consensus_json  # other kinds: the regions, joined; None: none
        self.uses = 0


def _dumps(value) -> str:
    # The form the services write (annotation/services/quality.py, _copy_json).
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Share:
    """One task's row of ``TaskQuality``, JSON columns as text."""

    task_id: int
    annotations: int
    agreement: float | None
    controls_json: str
    consensus_json: str | None
    tie: bool
    stats_json: str


class TaskShares:
    """Feed it each task's submitted annotations in task order; read ``totals`` at the end."""

    def __init__(self, controls: Sequence[Control], *, overlap: int) -> None:
        self.controls = [control for control in controls if control.kind != UNSUPPORTED]
        self.names = {control.name for control in self.controls}
        self.overlap = overlap
        self.cases: dict[tuple, _Case] = {}
        self.total: dict[str, dict] = {}
        self.tasks = 0
        self.annotations = 0
        self._name_json = {control.name: _dumps(control.name) for control in self.controls}
        self._label_json: dict[str, str] = {}

    # --- one task ----------------------------------------------------------------------------------

    def share(
        self,
        task_id: int,
        rows: Sequence[tuple[int, int | None, list, bool]],
        *,
        best_annotation_id: int | None = None,
    ) -> Share:
        """``rows``: the task's submitted annotations as (id, author, result, ground_truth), id order,
        at least two of them."""
        names = self.names
        found = [regions_by_control(result, names) for _, _, result, _ in rows]
        with_consensus = len(rows) >= max(self.overlap, 2)
        gold_index = next((index for index, row in enumerate(rows) if row[3]), None)
        stats_parts: list[str] = []
        agreement_parts: list[str] = []
        consensus_parts: list[str] = []
        defined: list[float] = []
        tie = False
        for control in self.controls:
            name = control.name
            target = None
            if with_consensus:
                target = next((t for t in (to_name_of(f.get(name, ())) for f in found) if t), control.to_name)
            if control.kind == TEXTAREA:
                if with_consensus:
                    regions, text_tie = self._text_consensus(control, rows, found, target, best_annotation_id)
                    consensus_parts.extend(regions)
                    tie = tie or text_tie
                continue
            values = [value_of(control.kind, f.get(name, ())) for f in found]
            offsets: list[int] = []
            if control.kind == LABELS:
                values, offsets = _ranked(values)
            key = (name, with_consensus, gold_index, target,
                   tuple([(row[1], value) for row, value in zip(rows, values, strict=True)]))  # fmt: skip
            case = self.cases.get(key)
            if case is None:
                case = self._case(control, key, rows, values, target)
            case.uses += 1
            if case.stats_json is not None:
                stats_parts.append(case.stats_json)
            agreement_parts.append(case.agreement_json)
            if case.agreement is not None:
                defined.append(case.agreement)
            tie = tie or case.tie
            if with_consensus:
                if case.winners is not None:
                    consensus_parts.extend(self._span_regions(control, target, case.winners, offsets))
                elif case.consensus_json is not None:
                    consensus_parts.append(case.consensus_json)
        self.tasks += 1
        self.annotations += len(rows)
        return Share(
            task_id=task_id,
            annotations=len(rows),
            agreement=sum(defined) / len(defined) if defined else None,
            controls_json="{" + ",".join(agreement_parts) + "}",
            consensus_json="[" + ",".join(consensus_parts) + "]" if with_consensus else None,
            tie=tie,
            stats_json="{" + ",".join(stats_parts) + "}",
        )

    def _case(self, control: Control, key: tuple, rows, values: list, target: str | None) -> _Case:
        if len(self.cases) >= MAX_CASES:
            self._fold()
        # Annotation ids only single out the ground truth: positions stand in for them.
        raters = [Rater(index, row[1], value) for index, (row, value) in enumerate(zip(rows, values, strict=True))]
        gold_index = key[2]
        consensus_value = None
        winners = None
        tie = False
        consensus_json = None
        if key[1]:
            outcome = control_consensus(control.kind, control.name, control.tag, target or control.to_name, raters)
            consensus_value, tie = outcome.value, outcome.tie
            if control.kind == LABELS:
                winners = sorted(outcome.value or ())
            elif outcome.regions:
                consensus_json = ",".join(_dumps(region) for region in outcome.regions)
        gold = raters[gold_index] if gold_index is not None else None
        case = _Case(
            task_stats(control.kind, raters, consensus=consensus_value, gold=gold),
            self._name_json[control.name],
            task_control_agreement(control.kind, raters),
            winners,
            tie,
            consensus_json,
        )
        self.cases[key] = case
        return case

    def _span_regions(self, control: Control, target: str | None, winners: list, offsets: list[int]) -> list[str]:
        # consensus._region's shape for spans, with the real offsets back from their ranks.
        regions = []
        head = f'"from_name":{self._name_json[control.name]},"to_name":{_dumps(target)},"type":{_dumps(control.tag)}'
        for index, (start, end, label) in enumerate(winners):
            label_json = self._label_json.get(label)
            if label_json is None:
                label_json = self._label_json[label] = _dumps(label)
            regions.append(
                f'{{"id":{_dumps(f"consensus-{control.name}-{index}")},{head},"origin":"consensus",'
                f'"value":{{"start":{offsets[start]},"end":{offsets[end]},"labels":[{label_json}]}}}}'
            )
        return regions

    def _text_consensus(self, control: Control, rows, found, target, best_annotation_id) -> tuple[list[str], bool]:
        if best_annotation_id is None:
            return [], False
        raters = [Rater(row[0], row[1], value_of(TEXTAREA, f.get(control.name, ())))
                  for row, f in zip(rows, found, strict=True)]  # fmt: skip
        best_result = next((row[2] for row in rows if row[0] == best_annotation_id), None)
        outcome = control_consensus(TEXTAREA, control.name, control.tag, target or control.to_name, raters,
                                    best_annotation_id=best_annotation_id, best_result=best_result)  # fmt: skip
        return [_dumps(region) for region in outcome.regions], outcome.tie

    # --- the project --------------------------------------------------------------------------------

    def _fold(self) -> None:
        for key, case in self.cases.items():
            if case.uses and case.stats:
                self.total[key[0]] = stats_add(self.total.get(key[0]) or {}, case.stats, case.uses)
        self.cases.clear()

    def totals(self) -> dict:
        """The project's statistics (``ProjectQuality``'s document): the sum of every task's share."""
        self._fold()
        return {name: stats for name, stats in self.total.items() if stats}


def _ranked(values: list) -> tuple[list, list[int]]:
    """Span sets with each offset replaced by its rank among all of them, and the offsets by rank."""
    offsets = sorted({offset for spans in values for start, end, _ in spans for offset in (start, end)})
    rank = {offset: index for index, offset in enumerate(offsets)}
    return [frozenset([(rank[start], rank[end], label) for start, end, label in spans]) for spans in values], offsets
