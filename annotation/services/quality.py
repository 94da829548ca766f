"""Agreement and consensus kept up to date: the thin layer between the pure cores (annotation/quality/)
and the database.

``TaskQuality`` holds each task's consensus, agreement and its share of the project's statistics;
``ProjectQuality`` their sum. After a change to a task's annotations, ``task_quality_refresh``
reads that task's submitted annotations, computes its new share, and adds ``new - old`` to the
project's document: a handful of statements whatever the project's size. The write paths call it
in their own transaction with the task's row locked (annotation/services/annotations.py), so two
changes of the same task cannot interleave; the project's row here is locked last and briefly.

``project_quality_recompute`` rebuilds both from scratch (``manage.py tessera_recompute_quality``).
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.bulk import bulk_insert
from annotation.label_config import LabelSchema
from annotation.models import Annotation, Project, ProjectQuality, Task, TaskQuality
from annotation.quality.agreement import Rater, stats_add, task_control_agreement, task_stats
from annotation.quality.consensus import control_consensus
from annotation.quality.values import TEXTAREA, UNSUPPORTED, control_kind, control_value, to_name
from annotation.services.projects import project_schema
from tessera import validation
from tessera.errors import ApplicationError, Conflict
from tessera.models import User
from tessera.services import audit_record

# Tasks per read during a full recompute.
RECOMPUTE_BATCH = 5000


@dataclass(frozen=True)
class _Control:
    name: str
    kind: str
    tag: str
    to_name: str


def _controls(schema: LabelSchema) -> list[_Control]:
    return [
        _Control(name, control_kind(spec), spec.tag, spec.to_names[0] if spec.to_names else name)
        for name, spec in schema.controls.items()
    ]


@dataclass
class _TaskShare:
    task_id: int
    annotations: int
    stats: dict
    agreement: float | None
    controls: dict
    consensus: list | None
    tie: bool


def _task_share(
    task_id: int,
    rows: list[tuple[int, int | None, list, bool]],
    controls: list[_Control],
    *,
    overlap: int,
    best_annotation_id: int | None = None,
) -> _TaskShare:
    """``rows``: the task's submitted annotations as (id, author, result, ground_truth), in id order."""
    stats: dict = {}
    agreements: dict = {}
    with_consensus = len(rows) >= max(overlap, 2)
    regions: list = []
    tie = False
    best_result = next((result for pk, _, result, _ in rows if pk == best_annotation_id), None)
    for control in controls:
        if control.kind == UNSUPPORTED:
            continue
        raters = [Rater(pk, author, control_value(control.kind, control.name, result))
                  for pk, author, result, _ in rows]  # fmt: skip
        consensus_value = None
        if with_consensus:
            target = next(
                (name for name in (to_name(r, control.name) for _, _, r, _ in rows) if name), control.to_name
            )
            outcome = control_consensus(control.kind, control.name, control.tag, target, raters,
                                        best_annotation_id=best_annotation_id, best_result=best_result)  # fmt: skip
            regions.extend(outcome.regions)
            tie = tie or outcome.tie
            consensus_value = outcome.value
        if control.kind == TEXTAREA:
            continue
        gold = next((rater for rater, row in zip(raters, rows, strict=True) if row[3]), None)
        share = task_stats(control.kind, raters, consensus=consensus_value, gold=gold)
        if share:
            stats[control.name] = share
        agreements[control.name] = task_control_agreement(control.kind, raters)
    defined = [value for value in agreements.values() if value is not None]
    return _TaskShare(
        task_id=task_id,
        annotations=len(rows),
        stats=stats,
        agreement=sum(defined) / len(defined) if defined else None,
        controls=agreements,
        consensus=regions if with_consensus else None,
        tie=tie,
    )


def _annotation_rows(task_ids: Sequence[int]) -> dict[int, list[tuple[int, int | None, list, bool]]]:
    rows: dict[int, list] = {}
    for pk, task_id, author, result, ground_truth in (
        Annotation.objects.filter(task_id__in=task_ids, was_cancelled=False)
        .order_by("task_id", "id")
        .values_list("id", "task_id", "completed_by_id", "result", "ground_truth")
    ):
        rows.setdefault(task_id, []).append((pk, author, result, ground_truth))
    return rows


def _project_quality_locked(project_id: int) -> ProjectQuality:
    """The project's row, created when missing, locked for update (the last lock a write takes)."""
    row = ProjectQuality.objects.select_for_update().filter(project_id=project_id).first()
    if row is None:
        # Two first writers at once: one inserts, the other's insert is ignored; both then lock it.
        ProjectQuality.objects.bulk_create([ProjectQuality(project_id=project_id)], ignore_conflicts=True)
        row = ProjectQuality.objects.select_for_update().get(project_id=project_id)
    return row


def _apply(project_id: int, old: Iterable[tuple[dict, int]], new: Iterable[_TaskShare]) -> None:
    """Add ``new - old`` to the project's statistics (old: (stats, annotations) of replaced rows)."""
    delta: dict = {}
    tasks = annotations = 0
    for stats, count in old:
        stats_add(delta, stats, -1)
        tasks -= 1
        annotations -= count
    for share in new:
        stats_add(delta, share.stats)
        tasks += 1
        annotations += share.annotations
    if not delta and not tasks and not annotations:
        return
    row = _project_quality_locked(project_id)
    row.stats = stats_add(row.stats, delta)
    row.tasks += tasks
    row.annotations += annotations
    row.save(update_fields=["stats", "tasks", "annotations", "updated_at"])


def _write_shares(project_id: int, shares: list[_TaskShare], best: dict[int, int | None]) -> None:
    TaskQuality.objects.bulk_create(
        [
            TaskQuality(
                task_id=share.task_id, project_id=project_id, agreement=share.agreement, controls=share.controls,
                consensus=share.consensus, tie=share.tie, annotations=share.annotations, stats=share.stats,
                best_annotation_id=best.get(share.task_id),
            )
            for share in shares
        ],
        update_conflicts=True,
        unique_fields=["task"],
        update_fields=["agreement", "controls", "consensus", "tie", "annotations", "stats", "updated_at"],
    )  # fmt: skip


def tasks_quality_refresh(*, project: Project, task_ids: Sequence[int]) -> None:
    """Bring these tasks' quality rows and the project's statistics up to date with their annotations.

    Run inside the writer's transaction; the caller holds the tasks' rows (or the project's) locked, or
    wrote them itself (an import)."""
    if not task_ids:
        return
    controls = _controls(project_schema(project))
    previous = {
        task_id: (stats, count, best)
        for task_id, stats, count, best in TaskQuality.objects.filter(task_id__in=task_ids).values_list(
            "task_id", "stats", "annotations", "best_annotation_id"
        )
    }
    rows = _annotation_rows(task_ids)
    shares = []
    gone = []
    for task_id in task_ids:
        task_rows = rows.get(task_id, [])
        if len(task_rows) < 2:
            if task_id in previous:
                gone.append(task_id)
            continue
        best = previous.get(task_id, (None, 0, None))[2]
        shares.append(_task_share(task_id, task_rows, controls, overlap=project.maximum_annotations,
                                  best_annotation_id=best))  # fmt: skip
    if gone:
        TaskQuality.objects.filter(task_id__in=gone).delete()
    if shares:
        _write_shares(project.pk, shares, {task_id: entry[2] for task_id, entry in previous.items()})
    _apply(project.pk, (previous[task_id][:2] for task_id in previous), shares)


def task_quality_refresh(
    *, task: Task, submitted_before: int | None = None, submitted_after: int | None = None
) -> None:
    """The hook of the annotation write paths, after the task's counters changed.

    With the task's submitted counts before and after the change given and both under two, there is
    no agreement to keep: no statement at all (the first submit of a task, every submit at overlap 1)."""
    if (
        submitted_before is not None
        and submitted_after is not None
        and submitted_before < 2
        and submitted_after < 2
    ):
        return
    tasks_quality_refresh(project=task.project, task_ids=[task.pk])


def tasks_quality_forget(*, project_id: int, task_ids: Sequence[int]) -> None:
    """Before tasks or all their annotations are deleted: subtract their shares and drop their rows."""
    old = list(TaskQuality.objects.filter(task_id__in=task_ids).values_list("stats", "annotations"))
    if not old:
        return
    TaskQuality.objects.filter(task_id__in=task_ids).delete()
    _apply(project_id, old, [])


@transaction.atomic
def task_consensus_best_set(*, task: Task, annotation_id: object, user: User) -> None:
    """A reviewer's pick of the best free-text answer, taken as the task's text consensus (None clears it).

    The pick must be a submitted answer of this task; a task with fewer than two answers has no
    consensus to choose for (409)."""
    if annotation_id is not None:
        annotation_id = validation.object_id(annotation_id, field="annotation")
        if not Annotation.objects.filter(pk=annotation_id, task_id=task.pk, was_cancelled=False).exists():
            raise ApplicationError(
                _("annotation is not a submitted answer of this task."), field="annotation", code="invalid"
            )
    updated = (
        TaskQuality.objects.select_for_update()
        .filter(task_id=task.pk)
        .update(best_annotation_id=annotation_id)
    )
    if not updated:
        raise Conflict(
            _("This task has fewer than two submitted answers: there is no consensus to choose."),
            field="annotation",
            code="no_consensus",
        )
    tasks_quality_refresh(project=task.project, task_ids=[task.pk])
    audit_record(
        actor=user, organization=task.project.organization_id, action="task.consensus_best", obj=task,
        details={"annotation": annotation_id},
    )  # fmt: skip


def _tasks_to_count(project_id: int, after_id: int, limit: int) -> list[int]:
    return list(
        Task.objects.filter(project_id=project_id, id__gt=after_id, total_annotations__gte=2)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def _copy_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@transaction.atomic
def project_quality_recompute(*, project: Project) -> ProjectQuality:
    """Rebuild the project's quality rows and statistics from its annotations.

    Locks the project's statistics row for the whole run: incremental updates wait, then apply on top
    of the rebuilt figures. Reviewers' best-answer picks are kept.
    """
    quality = _project_quality_locked(project.pk)
    controls = _controls(project_schema(project))
    best = dict(
        TaskQuality.objects.filter(project_id=project.pk, best_annotation__isnull=False).values_list(
            "task_id", "best_annotation_id"
        )
    )
    TaskQuality.objects.filter(project_id=project.pk).delete()
    total: dict = {}
    tasks = annotations = 0
    after = 0
    now = timezone.now()
    while True:
        ids = _tasks_to_count(project.pk, after, RECOMPUTE_BATCH)
        if not ids:
            break
        after = ids[-1]
        rows = _annotation_rows(ids)
        shares = []
        for task_id in ids:
            task_rows = rows.get(task_id, [])
            if len(task_rows) < 2:
                continue
            share = _task_share(task_id, task_rows, controls, overlap=project.maximum_annotations,
                                best_annotation_id=best.get(task_id))  # fmt: skip
            stats_add(total, share.stats)
            tasks += 1
            annotations += share.annotations
            shares.append(share)
        bulk_insert(
            TaskQuality._meta.db_table,
            ("task_id", "agreement", "controls", "consensus", "tie", "annotations", "stats", "best_annotation_id"),
            (
                (s.task_id, s.agreement, _copy_json(s.controls), None if s.consensus is None else
                 _copy_json(s.consensus), s.tie, s.annotations, _copy_json(s.stats), best.get(s.task_id))
                for s in shares
            ),
            constants={"project_id": project.pk, "updated_at": now},
        )  # fmt: skip
    quality.stats, quality.tasks, quality.annotations = total, tasks, annotations
    quality.save(update_fields=["stats", "tasks", "annotations", "updated_at"])
    return quality


def task_agreement(task: Task) -> float | None:
    """The task's agreement (0-1) for the review policy ``low_agreement``; None while undefined (fewer
    than two submitted annotations, or only free text)."""
    return TaskQuality.objects.filter(task_id=task.pk).values_list("agreement", flat=True).first()


def task_consensus_out(*, task_id: int) -> dict | None:
    """``{"result", "tie", "agreement"}`` for the task's output to reviewers; None until the overlap is reached."""
    row = TaskQuality.objects.filter(task_id=task_id).values_list("consensus", "tie", "agreement").first()
    if row is None or row[0] is None:
        return None
    return {"result": row[0], "tie": row[1], "agreement": row[2]}
