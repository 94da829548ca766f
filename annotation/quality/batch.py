"""Every task's share of a project's agreement in one pass, for a full recompute: pure Python, no ORM.

``TaskShares.share`` gives exactly what ``annotation.services.quality._task_share`` gives for the same
task (agreement, per-control agreement, consensus, tie, statistics), already serialised as JSON text for
COPY, and ``TaskShares.totals`` the project's summed statistics. It is fast because the per-task work
repeats: a control's share of one task depends only on what was answered, by whom, whether the overlap
is reached, which answer is the ground truth and the regions' target, so each distinct case is
computed once, by the same cores the incremental path calls (``task_stats``,
``task_control_agreement``, ``control_consensus``), and looked up afterwards.

Two renamings make far more tasks alike, both strictly increasing, so that every comparison the cores
make comes out the same:

- annotators by rank: with distinct, known annotators, their ids in increasing order stand as 0, 1,
  2..., and the answers go in that order (the cores' figures do not depend on the order of the answers,
  pairs being keyed smaller id first; ratings and numbers keep annotation order, since their mean is a
  float sum). The parts of the statistics that name annotators (``pairs``, ``references``) are kept per
  rank and named per task. Otherwise (a repeated or deleted annotator) the case is keyed by the ids.
- spans by shape: every offset a task's annotators marked (starts and ends together) is replaced by
  its rank among them. The statistics hold no offsets (categories are labels or "no span here", units
  are compared by equality and order, overlaps by ``<`` between starts and ends), and the consensus
  regions get the real offsets back from the ranks.

The project's totals are each case's statistics times the number of tasks that had it, added once.
"""

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from annotation.quality.agreement import SEP, Rater, stats_add, task_control_agreement, task_stats
from annotation.quality.consensus import control_consensus
from annotation.quality.values import (
    LABELS,
    NUMBER,
    RATING,
    TEXTAREA,
    UNSUPPORTED,
    ControlsReader,
)

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
    """One control's share of every task with the same answers: computed once, counted per use.

    With every annotator distinct (the usual case) the answers are keyed by the annotators' *ranks*
    (their ids in increasing order stand for 0, 1, 2...) and the parts of the statistics that name
    annotators (``pairs``, ``references``) are kept per rank, to be named per task: so tasks answered
    alike by different annotators share a case too."""

    __slots__ = ("free", "free_json", "pairs", "references", "agreement", "agreement_json", "winners", "tie",
                 "consensus_json", "uses", "named")  # fmt: skip

    def __init__(self) -> None:
        self.free: dict = {}  # the statistics without the parts that name annotators
        self.free_json = ""
        self.pairs: list[tuple[int, int, int, str]] = []  # rank, rank, part id, part as JSON
        self.references: list[tuple[str, str, list[tuple[int, int, str]]]] = []  # name, name as JSON, parts
        self.agreement: float | None = None
        self.agreement_json = ""
        self.winners: list | None = None  # spans: the consensus spans in ranks, in region order
        self.tie = False
        self.consensus_json: str | None = None  # other kinds: the regions, joined; None: none
        self.uses = 0
        # Per annotators (ids by rank; () when not keyed by rank): [statistics as JSON, tasks].
        self.named: dict[tuple, list] = {}


# The form the services write (annotation/services/quality.py, _copy_json): json.dumps with these
# arguments builds this encoder on every call, which cost more than the encoding of these small documents.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _members(document: dict) -> str:
    """A JSON object's text without its braces."""
    return _dumps(document)[1:-1]


@dataclass(slots=True)
class Share:
    """One task's row of ``TaskQuality``, JSON columns as text."""

    task_id: int
    annotations: int
    agreement: float | None
    controls_json: str
    consensus_json: str | None
    tie: bool
    stats_json: str


# Kinds whose consensus depends on the order of the answers (the mean of ratings is a float sum), so
# that their answers are kept in annotation order; the others are sorted by annotator.
_ORDERED_KINDS = {RATING, NUMBER}

# How a case's key holds its answers: (annotator id, value) in annotation order, when the annotators
# are not all distinct and known; (rank, value) in annotation order; the values alone in rank order
# (the usual case: the ranks are the positions). Every form but the first is keyed by rank.
_BY_ID, _BY_RANK, _IN_RANK_ORDER = 0, 1, 2


class TaskShares:
    """Feed it each task's submitted annotations in task order; read ``totals`` at the end."""

    def __init__(self, controls: Sequence[Control], *, overlap: int) -> None:
        self.controls = [control for control in controls if control.kind != UNSUPPORTED]
        self._reader = ControlsReader([(control.name, control.kind) for control in self.controls])
        self.overlap = overlap
        self.cases: dict[tuple, _Case] = {}
        self.total: dict[str, dict] = {}
        self.tasks = 0
        self.annotations = 0
        self._name_json = {control.name: _dumps(control.name) for control in self.controls}
        self._label_json: dict[str, str] = {}
        self._heads: dict[tuple, list[str]] = {}
        # Parts of statistics that name annotators, interned: (control, part id, user, user) -> tasks.
        self._parts: dict[str, int] = {}
        self._part_docs: list[dict] = []
        self._pair_uses: Counter = Counter()
        self._reference_uses: Counter = Counter()

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
        count = len(rows)
        columns, named = self._reader.read([row[2] for row in rows])
        with_consensus = count >= max(self.overlap, 2)
        gold_index = next((index for index, row in enumerate(rows) if row[3]), None)
        authors = [row[1] for row in rows]
        by_rank = None not in authors and len(set(authors)) == count
        users: tuple[int, ...] = ()
        in_rank_order: list[int] = []
        gold_rank = None
        if by_rank:
            # Who answered stands as a rank (0 for the smallest id); the answers go in rank order,
            # except for the kinds where the order of the answers matters.
            ids = cast("list[int]", authors)  # none of them None here
            in_rank_order = sorted(range(count), key=ids.__getitem__)
            users = tuple([ids[index] for index in in_rank_order])
            if gold_index is not None:
                gold_rank = in_rank_order.index(gold_index)
        stats_parts: list[str] = []
        agreement_parts: list[str] = []
        consensus_parts: list[str] = []
        defined: list[float] = []
        tie = False
        for control, column, targets in zip(self.controls, columns, named, strict=True):
            name, kind = control.name, control.kind
            target = None
            if with_consensus:
                # The first annotation whose regions of the control name a target (values.to_name_of).
                target = control.to_name
                for named_target in targets:
                    if named_target:
                        target = named_target
                        break
            if kind == TEXTAREA:
                if with_consensus:
                    text_regions, text_tie = self._text_consensus(
                        control, rows, column, target, best_annotation_id
                    )
                    consensus_parts.extend(text_regions)
                    tie = tie or text_tie
                continue
            offsets: list[int] = []
            if kind == LABELS:
                column, offsets = _ranked(column)
            # The key holds the answers as _case reads them (_answers), in a shorter form for the
            # usual case: with annotators by rank, answers in rank order need no rank beside them.
            if not by_rank:
                answers: tuple = tuple(zip(authors, column, strict=True))
                gold, form = gold_index, _BY_ID
            elif kind in _ORDERED_KINDS:
                answers = tuple(zip(_ranks(in_rank_order), column, strict=True))
                gold, form = gold_index, _BY_RANK
            else:
                answers = tuple([column[index] for index in in_rank_order])
                gold, form = gold_rank, _IN_RANK_ORDER
            key = (name, with_consensus, gold, target, form, answers)
            case = self.cases.get(key)
            if case is None:
                case = self._case(control, key, target)
            case.uses += 1
            named_stats = case.named.get(users)
            if named_stats is None:
                named_stats = case.named[users] = [self._stats_json(name, case, users), 0]
            named_stats[1] += 1
            stats_parts.append(named_stats[0])
            agreement_parts.append(case.agreement_json)
            if case.agreement is not None:
                defined.append(case.agreement)
            tie = tie or case.tie
            if with_consensus:
                if case.winners is not None:
                    if case.winners:
                        consensus_parts.extend(self._span_regions(control, target, case.winners, offsets))
                elif case.consensus_json is not None:
                    consensus_parts.append(case.consensus_json)
        self.tasks += 1
        self.annotations += count
        return Share(
            task_id=task_id,
            annotations=count,
            agreement=sum(defined) / len(defined) if defined else None,
            controls_json="{" + ",".join(agreement_parts) + "}",
            consensus_json="[" + ",".join(consensus_parts) + "]" if with_consensus else None,
            tie=tie,
            stats_json="{" + ",".join(stats_parts) + "}",
        )

    def _stats_json(self, name: str, case: _Case, users: tuple) -> str:
        """The control's statistics as JSON with the annotators named (``users``: ids by rank)."""
        members = [case.free_json]
        if case.pairs:
            entries = [f'"{users[first]}\\t{users[second]}":{text}' for first, second, _, text in case.pairs]
            members.append('"pairs":{' + ",".join(entries) + "}")
        if case.references:
            groups = []
            for _, reference_json, parts in case.references:
                entries = [f'"{users[position]}":{text}' for position, _, text in parts]
                groups.append(reference_json + ":{" + ",".join(entries) + "}")
            members.append('"references":{' + ",".join(groups) + "}")
        return f"{self._name_json[name]}:{{" + ",".join(members) + "}"

    def _part(self, document: dict) -> tuple[int, str]:
        text = _dumps(document)
        part = self._parts.get(text)
        if part is None:
            part = self._parts[text] = len(self._part_docs)
            self._part_docs.append(document)
        return part, text

    def _case(self, control: Control, key: tuple, target: str | None) -> _Case:
        if len(self.cases) >= MAX_CASES:
            self._fold()
        gold_position, by_rank = key[2], key[4] != _BY_ID
        # Annotation ids only single out the ground truth: positions stand in for them.
        raters = [Rater(position, user, value) for position, (user, value) in enumerate(_answers(key))]
        case = _Case()
        consensus_value = None
        if key[1]:
            outcome = control_consensus(
                control.kind, control.name, control.tag, target or control.to_name, raters
            )
            consensus_value, case.tie = outcome.value, outcome.tie
            if control.kind == LABELS:
                case.winners = sorted(outcome.value or ())  # type: ignore[call-overload]
            elif outcome.regions:
                case.consensus_json = ",".join(_dumps(region) for region in outcome.regions)
        gold = raters[gold_position] if gold_position is not None else None
        stats = task_stats(control.kind, raters, consensus=consensus_value, gold=gold)
        if by_rank:
            # Ranks are 0..k-1 in the order of the annotators' ids, so a pair's key keeps its order.
            for pair_key, pair in (stats.pop("pairs", None) or {}).items():
                first, second = (int(rank) for rank in pair_key.split(SEP))
                case.pairs.append((first, second, *self._part(pair)))
            for reference, per_rank in (stats.pop("references", None) or {}).items():
                parts = [(int(rank), *self._part(confusion)) for rank, confusion in per_rank.items()]
                case.references.append((reference, _dumps(reference), parts))
        case.free = stats
        case.free_json = _members(stats)
        case.agreement = task_control_agreement(control.kind, raters)
        case.agreement_json = f"{self._name_json[control.name]}:{_dumps(case.agreement)}"
        self.cases[key] = case
        return case

    def _span_regions(
        self, control: Control, target: str | None, winners: list, offsets: list[int]
    ) -> list[str]:
        # consensus._region's shape for spans, with the real offsets back from their ranks.
        regions = []
        heads = self._heads.get((control.name, target))
        if heads is None:
            heads = self._heads[(control.name, target)] = []
        while len(heads) < len(winners):
            index = len(heads)
            heads.append(
                f'{{"id":{_dumps(f"consensus-{control.name}-{index}")},"from_name":{self._name_json[control.name]},'
                f'"to_name":{_dumps(target)},"type":{_dumps(control.tag)},"origin":"consensus","value":{{"start":'
            )
        for index, (start, end, label) in enumerate(winners):
            label_json = self._label_json.get(label)
            if label_json is None:
                label_json = self._label_json[label] = _dumps(label)
            regions.append(f'{heads[index]}{offsets[start]},"end":{offsets[end]},"labels":[{label_json}]}}}}')
        return regions

    def _text_consensus(
        self, control: Control, rows, texts: list, target, best_annotation_id
    ) -> tuple[list[str], bool]:
        if best_annotation_id is None:
            return [], False
        raters = [Rater(row[0], row[1], text) for row, text in zip(rows, texts, strict=True)]
        best_result = next((row[2] for row in rows if row[0] == best_annotation_id), None)
        outcome = control_consensus(TEXTAREA, control.name, control.tag, target or control.to_name, raters,
                                    best_annotation_id=best_annotation_id, best_result=best_result)  # fmt: skip
        return [_dumps(region) for region in outcome.regions], outcome.tie

    # --- the project --------------------------------------------------------------------------------

    def _fold(self) -> None:
        """Add what was counted so far to the totals and start afresh."""
        for key, case in self.cases.items():
            if case.uses:
                self.total[key[0]] = stats_add(self.total.get(key[0]) or {}, case.free, case.uses)
        for key, case in self.cases.items():
            for users, (_, uses) in case.named.items():
                for first, second, part, _ in case.pairs:
                    self._pair_uses[(key[0], part, users[first], users[second])] += uses
                for reference, _, parts in case.references:
                    for position, part, _ in parts:
                        self._reference_uses[(key[0], reference, part, users[position])] += uses
        for (name, part, low, high), uses in self._pair_uses.items():
            pairs = {"pairs": {f"{low}{SEP}{high}": self._part_docs[part]}}
            self.total[name] = stats_add(self.total.get(name) or {}, pairs, uses)
        for (name, reference, part, user), uses in self._reference_uses.items():
            references = {"references": {reference: {str(user): self._part_docs[part]}}}
            self.total[name] = stats_add(self.total.get(name) or {}, references, uses)
        self.cases.clear()
        self._pair_uses.clear()
        self._reference_uses.clear()
        self._parts.clear()
        self._part_docs.clear()

    def totals(self) -> dict:
        """The project's statistics (what the shards sum to): the sum of every task's share."""
        self._fold()
        return {name: stats for name, stats in self.total.items() if stats}


def _ranks(in_rank_order: list[int]) -> list[int]:
    """Each annotation's rank, from the annotations in rank order."""
    rank_of = [0] * len(in_rank_order)
    for rank, index in enumerate(in_rank_order):
        rank_of[index] = rank
    return rank_of


def _answers(key: tuple) -> tuple:
    """A case's answers as (annotator, value) from its key (see ``TaskShares.share``)."""
    form, answers = key[4], key[5]
    return tuple(enumerate(answers)) if form == _IN_RANK_ORDER else answers


def _ranked(values: list) -> tuple[list, list[int]]:
    """Span sets with each offset replaced by its rank among all of them, and the offsets by rank."""
    points = set()
    for spans in values:
        for start, end, _ in spans:
            points.add(start)
            points.add(end)
    if not points:
        return values, []
    offsets = sorted(points)
    rank = {offset: index for index, offset in enumerate(offsets)}
    return [
        frozenset([(rank[start], rank[end], label) for start, end, label in spans]) for spans in values
    ], offsets
