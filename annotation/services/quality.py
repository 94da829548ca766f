"""Agreement and consensus kept up to date: the thin layer between the pure cores (annotation/quality/)
and the database.

``TaskQuality`` holds each task's consensus, agreement and its share of the project's statistics;
``ProjectQualityShard`` rows their sum, spread over ``TESSERA_QUALITY_SHARDS`` rows per project. After
a change to a task's annotations, ``task_quality_refresh`` reads that task's submitted annotations,
computes its new share, and adds ``new - old`` to one shard: a handful of statements whatever the
project's size. The write paths call it in their own transaction with the task's row locked
(annotation/services/annotations.py), so two changes of the same task cannot interleave; the shard's
row here is locked last and briefly, and it is the task's own shard, so that submits on different
tasks of one project do not queue behind one row. Reads sum the project's shards (``project_quality``).

Which shard a write takes: a change of one task, that task's (``task_id % TESSERA_QUALITY_SHARDS``);
a change of several (an import batch, a bulk delete), shard 0. So a transaction that takes two shards
(a bulk delete whose last chunk holds one task) takes shard 0 first, and the single-task writers,
which take one, cannot close a cycle with it.

``project_quality_recompute`` rebuilds both from scratch (``manage.py tessera_recompute_quality``),
set-based: one ordered, streamed read of the project's annotations, the per-task work looked up
from the cases already seen (annotation/quality/batch.py), one COPY of ``TaskQuality`` rows per batch.
"""

import gc
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.bulk import COPY_BOOL, COPY_NULL, bulk_insert, copy_chunks, copy_text_chunks
from annotation.label_config import LabelSchema
from annotation.models import Annotation, Project, ProjectQualityShard, Task, TaskQuality
from annotation.quality.agreement import Rater, stats_add, task_control_agreement, task_stats
from annotation.quality.batch import Control, Share, TaskShares
from annotation.quality.consensus import control_consensus
from annotation.quality.fanout import Fanout, Send
from annotation.quality.values import TEXTAREA, UNSUPPORTED, control_kind, control_value, to_name
from annotation.services.activity_totals import Activity, activity_recount, activity_replace
from annotation.services.projects import project_schema
from tessera import prepared, validation
from tessera.errors import ApplicationError, Conflict
from tessera.json_reading import json_loads
from tessera.models import User
from tessera.rows import db_datetime
from tessera.services import audit_record

# Annotations per fetch of a full recompute's streamed read; each batch of tasks is one COPY.
RECOMPUTE_FETCH = 20_000
# A full recompute in worker processes copies their rows in COPY statements of about this many bytes.
RECOMPUTE_COPY_STATEMENT_BYTES = 8 * 1024 * 1024


def _controls(schema: LabelSchema) -> list[Control]:
    return [
        Control(name, control_kind(spec), spec.tag, spec.to_names[0] if spec.to_names else name)
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
    controls: list[Control],
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


_ANNOTATION_ROWS_SQL = """
SELECT a."id", a."task_id", a."completed_by_id", a."result", a."ground_truth" FROM "{annotations}" a
WHERE a."task_id" IN ({ids}) AND NOT a."was_cancelled" ORDER BY a."task_id", a."id"
"""
_PREVIOUS_SQL = """
SELECT q."task_id", q."stats", q."annotations", q."best_annotation_id" FROM "{quality}" q
WHERE q."task_id" IN ({ids})
"""


def _ids_sql(template: str, task_ids: Sequence[int]) -> str:
    return template.format(
        annotations=Annotation._meta.db_table,
        quality=TaskQuality._meta.db_table,
        ids=", ".join(["%s"] * len(task_ids)),
    )


def _execute_for_tasks(cursor, label: str, template: str, task_ids: Sequence[int]) -> None:
    """Written out, not through the ORM: every second and later submit of a task runs these (see
    tessera/rows.py); prepared when for one task, the submit's case (tessera/prepared.py)."""
    sql = _ids_sql(template, task_ids)
    if len(task_ids) == 1:
        prepared.execute(cursor, label, sql, list(task_ids))
    else:
        cursor.execute(sql, list(task_ids))


def _annotation_rows(task_ids: Sequence[int]) -> dict[int, list[tuple[int, int | None, list, bool]]]:
    rows: dict[int, list] = {}
    with connection.cursor() as cursor:
        _execute_for_tasks(cursor, "quality_answers", _ANNOTATION_ROWS_SQL, task_ids)
        for pk, task_id, author, result, ground_truth in cursor.fetchall():
            # JSON comes back as text from both databases (Django reads jsonb without decoding it).
            rows.setdefault(task_id, []).append((pk, author, json_loads(result), bool(ground_truth)))
    return rows


def _previous_shares(task_ids: Sequence[int]) -> dict[int, tuple[dict, int, int | None]]:
    """Each task's quality row as it stands: (stats, annotations, best annotation id)."""
    with connection.cursor() as cursor:
        _execute_for_tasks(cursor, "quality_previous", _PREVIOUS_SQL, task_ids)
        return {
            task_id: (json_loads(stats), count, best) for task_id, stats, count, best in cursor.fetchall()
        }


def quality_shard(task_ids: Sequence[int]) -> int:
    """The shard a change of these tasks adds to (see the module docstring)."""
    return task_ids[0] % settings.TESSERA_QUALITY_SHARDS if len(task_ids) == 1 else 0


_SHARD_READ_SQL = f"""
SELECT s."id", s."stats", s."tasks", s."annotations" FROM "{ProjectQualityShard._meta.db_table}" s
WHERE s."project_id" = %s AND s."shard" = %s
"""
_SHARD_WRITE_SQL = f"""
UPDATE "{ProjectQualityShard._meta.db_table}" SET "stats" = %s, "tasks" = %s, "annotations" = %s, "updated_at" = %s WHERE "id" = %s
"""


def _shard_locked(project_id: int, shard: int) -> tuple[int, dict, int, int]:
    """The project's shard row (id, stats, tasks, annotations), created when missing, locked for
    update (the last lock a write takes)."""
    sql = _SHARD_READ_SQL + (" FOR UPDATE" if connection.vendor == "postgresql" else "")
    with connection.cursor() as cursor:
        prepared.execute(cursor, "quality_shard", sql, [project_id, shard])
        row = cursor.fetchone()
        if row is None:
            # Two first writers at once: one inserts, the other's insert is ignored; both then lock it.
            ProjectQualityShard.objects.bulk_create(
                [ProjectQualityShard(project_id=project_id, shard=shard)], ignore_conflicts=True
            )
            prepared.execute(cursor, "quality_shard", sql, [project_id, shard])
            row = cursor.fetchone()
    pk, stats, tasks, annotations = row
    return pk, json_loads(stats), tasks, annotations


def _apply(project_id: int, shard: int, old: Iterable[tuple[dict, int]], new: Iterable[_TaskShare]) -> None:
    """Add ``new - old`` to one shard of the project's statistics (old: (stats, annotations) of
    replaced rows)."""
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
    pk, stats, shard_tasks, shard_annotations = _shard_locked(project_id, shard)
    with connection.cursor() as cursor:
        prepared.execute(
            cursor,
            "quality_shard_write",
            _SHARD_WRITE_SQL,
            [
                _copy_json(stats_add(stats, delta)),
                shard_tasks + tasks,
                shard_annotations + annotations,
                db_datetime(timezone.now()),
                pk,
            ],
        )


@dataclass
class ProjectQualityTotals:
    """The project's agreement statistics: the sum of its shards."""

    stats: dict
    tasks: int
    annotations: int


def project_quality(project_id: int) -> ProjectQualityTotals:
    """One statement: the project's shards, summed (at most ``TESSERA_QUALITY_SHARDS`` small documents,
    whatever the number of tasks)."""
    total = ProjectQualityTotals(stats={}, tasks=0, annotations=0)
    for stats, tasks, annotations in ProjectQualityShard.objects.filter(project_id=project_id).values_list(
        "stats", "tasks", "annotations"
    ):
        stats_add(total.stats, stats)
        total.tasks += tasks
        total.annotations += annotations
    return total


def _copy_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_SHARE_UPSERT_SQL = f"""
INSERT INTO "{TaskQuality._meta.db_table}" ("task_id", "project_id", "agreement", "controls", "consensus", "tie", "annotations",
  "stats", "best_annotation_id", "updated_at")
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ("task_id") DO UPDATE SET "agreement" = EXCLUDED."agreement", "controls" = EXCLUDED."controls",
  "consensus" = EXCLUDED."consensus", "tie" = EXCLUDED."tie", "annotations" = EXCLUDED."annotations",
  "stats" = EXCLUDED."stats", "updated_at" = EXCLUDED."updated_at"
"""


def _write_shares(project_id: int, shares: list[_TaskShare], best: dict[int, int | None]) -> None:
    if len(shares) == 1:
        # A submit's case, written out and prepared (see _execute_for_tasks).
        share = shares[0]
        with connection.cursor() as cursor:
            prepared.execute(
                cursor,
                "quality_upsert",
                _SHARE_UPSERT_SQL,
                [
                    share.task_id, project_id, share.agreement, _copy_json(share.controls),
                    None if share.consensus is None else _copy_json(share.consensus), share.tie,
                    share.annotations, _copy_json(share.stats), best.get(share.task_id),
                    db_datetime(timezone.now()),
                ],
            )  # fmt: skip
        return
    TaskQuality.objects.bulk_create(
        [
            TaskQuality(
                task_id=share.task_id, project_id=project_id, agreement=share.agreement, controls=share.controls,
                consensus=share.consensus, tie=share.tie, annotations=share.annotations, stats=_copy_json(share.stats),
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
    previous = _previous_shares(task_ids)
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
    _apply(project.pk, quality_shard(task_ids), (previous[task_id][:2] for task_id in previous), shares)


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
    old = [
        (json.loads(stats), count)
        for stats, count in TaskQuality.objects.filter(task_id__in=task_ids).values_list(
            "stats", "annotations"
        )
    ]
    if not old:
        return
    TaskQuality.objects.filter(task_id__in=task_ids).delete()
    _apply(project_id, quality_shard(task_ids), old, [])


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


def _share_copy_line(row: tuple) -> str:
    # COPY text of one _share_row (task_id, agreement, controls, consensus, tie, annotations, stats, best).
    # The JSON columns come from json.dumps (or fragments of it), which writes no raw tab, newline or
    # carriage return: of COPY's special characters only the backslash can occur, escaped in one pass.
    task_id, agreement, controls, consensus, tie, annotations, stats, best = row
    return (
        f"{task_id}\t{COPY_NULL if agreement is None else repr(agreement)}\t{controls.replace(BACKSLASH, COPY_BACKSLASH)}\t"
        f"{COPY_NULL if consensus is None else consensus.replace(BACKSLASH, COPY_BACKSLASH)}\t{COPY_BOOL[tie]}\t"
        f"{annotations}\t{stats.replace(BACKSLASH, COPY_BACKSLASH)}\t{COPY_NULL if best is None else best}"
    )


BACKSLASH, COPY_BACKSLASH = "\\", "\\\\"


def _share_row(share: Share, best: int | None) -> tuple:
    return (share.task_id, share.agreement, share.controls_json, share.consensus_json, share.tie,
            share.annotations, share.stats_json, best)  # fmt: skip


# Every submitted annotation of a project (or of its tasks in [first, end)), ordered by task then id: the
# result read as text, parsed once in Python. Its plan walks annotation_task_author by task_id.
_ANNOTATIONS_IN_TASK_ORDER_SQL = (
    f'SELECT task_id, id, completed_by_id, ground_truth, CAST(result AS text) FROM "{Annotation._meta.db_table}" '
    "WHERE project_id = %s AND NOT was_cancelled{range} ORDER BY task_id, id"
)
_TASK_RANGE_SQL = " AND task_id >= %s AND task_id < %s"


def _annotations_in_task_order(project_id: int):
    """The project's annotations (``_ANNOTATIONS_IN_TASK_ORDER_SQL``): one statement, streamed (a
    server-side cursor on PostgreSQL), fetched ``RECOMPUTE_FETCH`` at a time."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_ANNOTATIONS_IN_TASK_ORDER_SQL.format(range=""), [project_id])
        yield from iter(lambda: cursor.fetchmany(RECOMPUTE_FETCH), [])


def _tasks_of(project_id: int):
    """The project's submitted annotations grouped per task (``_grouped``)."""
    return _grouped(_annotations_in_task_order(project_id))


def _grouped(fetches: Iterable[list[tuple]]):
    """Rows of ``_ANNOTATIONS_IN_TASK_ORDER_SQL``, a fetch at a time, grouped per task, a batch (about
    ``RECOMPUTE_FETCH`` annotations) at a time: ``[(task_id, [(id, author, result as JSON text,
    ground_truth), ...]), ...]`` (see ``_parsed``)."""
    current_task = None
    current: list = []
    for rows in fetches:
        batch = []
        for task_id, pk, author, ground_truth, result in rows:
            if task_id != current_task:
                if current:
                    batch.append((current_task, current))
                current_task, current = task_id, []
            current.append((pk, author, result, ground_truth))
        yield batch
    if current:
        yield [(current_task, current)]


def _parsed(rows: list[tuple]) -> list[tuple]:
    """A task's rows from ``_tasks_of`` with each result parsed (through orjson where it reads the text
    alike, tessera/json_reading.py: the parse is a large part of a full recompute)."""
    return [
        (pk, author, json_loads(result) if result is not None else None, bool(ground_truth))
        for pk, author, result, ground_truth in rows
    ]


_QUALITY_COLUMNS = ("task_id", "agreement", "controls", "consensus", "tie", "annotations", "stats",
                    "best_annotation_id")  # fmt: skip


def _share_rows(shares: TaskShares, groups, best: dict[int, int]):
    """``_share_row`` of every task of ``groups`` (``_grouped``) with two or more submitted annotations:
    a generator, so each task is parsed and computed as COPY asks for rows."""
    for batch in groups:
        for task_id, rows in batch:
            if len(rows) >= 2:
                best_id = best.get(task_id)
                yield _share_row(shares.share(task_id, _parsed(rows), best_annotation_id=best_id), best_id)


def _recompute_here(project: Project, controls: list[Control], best: dict[int, int], constants: dict):
    """The recompute in this process: one COPY per fetched batch (the read and the COPY share the
    connection), the server storing one chunk while Python computes the next."""
    shares = TaskShares(controls, overlap=project.maximum_annotations)
    for batch in _tasks_of(project.pk):
        bulk_insert(TaskQuality._meta.db_table, _QUALITY_COLUMNS, _share_rows(shares, [batch], best),
                    constants=constants, copy_line=_share_copy_line)  # fmt: skip
    return ProjectQualityTotals(stats=shares.totals(), tasks=shares.tasks, annotations=shares.annotations)


def _recompute_ranges(project_id: int) -> list[tuple[int, int]]:
    """Task id ranges ``[first, end)`` of about as many tasks each, one per worker process of a full
    recompute; one range (or none) when it runs in this process: on SQLite, with one process set, or
    for a project under ``TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS`` tasks."""
    processes = settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES
    if processes < 2 or connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        # One pass over the project's task ids (its index), sorted once: O(project), like the recompute.
        cursor.execute(
            f'SELECT COUNT(*), percentile_disc(%s::float8[]) WITHIN GROUP (ORDER BY "id") '
            f'FROM "{Task._meta.db_table}" WHERE "project_id" = %s',
            [[part / processes for part in range(1, processes)], project_id],
        )
        count, bounds = cursor.fetchone()
    if count < max(settings.TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS, processes):
        return []
    edges = [0, *sorted(set(bounds)), 2**63 - 1]
    return list(itertools.pairwise(edges))


@dataclass(frozen=True)
class _RecomputePart:
    """What one worker process of a full recompute works on (handed over by fork, not pickled)."""

    project_id: int
    first_task_id: int
    end_task_id: int
    controls: list[Control]
    overlap: int
    best: dict[int, int]
    constants: dict


def _recompute_part(part: _RecomputePart, send: Send) -> ProjectQualityTotals:
    """In a worker process: the part's tasks read over a connection of its own, their rows sent to the
    parent as COPY text, their summed statistics returned."""
    shares = TaskShares(part.controls, overlap=part.overlap)
    # Never the parent's connection (fanout.py): a new one, set up as Django sets up its own.
    database = connection.get_new_connection(connection.get_connection_params())
    try:
        with database.cursor(name="tessera_quality_recompute") as cursor:
            cursor.execute(
                _ANNOTATIONS_IN_TASK_ORDER_SQL.format(range=_TASK_RANGE_SQL),
                [part.project_id, part.first_task_id, part.end_task_id],
            )
            groups = _grouped(iter(lambda: cursor.fetchmany(RECOMPUTE_FETCH), []))
            rows = _share_rows(shares, groups, part.best)
            for text in copy_text_chunks(rows, constants=part.constants, copy_line=_share_copy_line):
                send(text.encode())
    finally:
        database.close()
    return ProjectQualityTotals(stats=shares.totals(), tasks=shares.tasks, annotations=shares.annotations)


def _recompute_in_processes(
    project: Project,
    controls: list[Control],
    ranges: list[tuple[int, int]],
    best: dict[int, int],
    constants: dict,
    beside: Callable[[], Any] | None = None,
) -> tuple[ProjectQualityTotals, Any]:
    """The recompute split by task ranges over worker processes (fanout.py), each reading and computing
    its range while this process copies the rows they send, in one COPY, inside this transaction. The
    statistics are sums, so the project's are the parts' added up. ``beside()``, when given, runs in a
    thread meanwhile; its value comes back second."""
    parts = [
        _RecomputePart(project.pk, first, end, controls, project.maximum_annotations, best, constants)
        for first, end in ranges
    ]
    with Fanout(_recompute_part, parts) as fanout, ThreadPoolExecutor(max_workers=1) as thread:
        # Only once every worker is forked: a child forked while the thread held a lock (the
        # connection handler's, the allocator's) would wait on that lock for ever.
        running = thread.submit(beside) if beside is not None else None
        with connection.cursor() as cursor:
            # The rows' foreign keys are checked per COPY statement of about RECOMPUTE_COPY_STATEMENT_BYTES,
            # while the workers compute the next rows, not all at commit after the last one.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            copy_chunks(TaskQuality._meta.db_table, (*_QUALITY_COLUMNS, *constants), fanout.chunks(),
                        statement_bytes=RECOMPUTE_COPY_STATEMENT_BYTES)  # fmt: skip
        beside_value = running.result() if running is not None else None
    stats: dict = {}
    for result in fanout.results:
        for name, part_stats in result.stats.items():
            stats[name] = stats_add(stats.get(name) or {}, part_stats)
    totals = ProjectQualityTotals(
        stats={name: value for name, value in stats.items() if value},
        tasks=sum(result.tasks for result in fanout.results),
        annotations=sum(result.annotations for result in fanout.results),
    )
    return totals, beside_value


def _recount_on_own_connection(project_id: int) -> Activity:
    """``activity_recount`` in a thread of its own: Django gives the thread its own connection, closed
    here, so it reads committed rows only (as the recompute's worker processes do)."""
    try:
        return activity_recount(project_id)
    finally:
        connection.close()


@transaction.atomic
def project_quality_recompute(*, project: Project, with_activity: bool = False) -> ProjectQualityTotals:
    """Rebuild the project's quality rows and statistics from its annotations; with ``with_activity``
    also the dashboard's running totals (annotation/services/activity_totals.py), so that every
    agreement and annotator figure is rebuilt at once (``manage.py tessera_recompute_quality``).

    Locks every shard of the project's statistics for the whole run: incremental updates wait, then
    apply on top of the rebuilt figures. The sum goes into shard 0, the other shards are emptied.
    Reviewers' best-answer picks are kept. The numbers are those of the incremental path
    (``_task_share``), computed once per distinct case (annotation/quality/batch.py).
    """
    shards = settings.TESSERA_QUALITY_SHARDS
    ProjectQualityShard.objects.bulk_create(
        [ProjectQualityShard(project_id=project.pk, shard=shard) for shard in range(shards)],
        ignore_conflicts=True,
    )
    # Every row of the project, whatever shard count wrote them, in one order: no deadlock between two runs.
    list(ProjectQualityShard.objects.select_for_update().filter(project_id=project.pk).order_by("shard"))
    if with_activity:
        # After the shards, in a submit's order (its task's shard, then the project's totals): the
        # writers of the totals wait for the rebuilt ones instead of adding to figures about to be replaced.
        list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk"))
    best = dict(
        TaskQuality.objects.filter(project_id=project.pk, best_annotation__isnull=False).values_list(
            "task_id", "best_annotation_id"
        )
    )
    TaskQuality.objects.filter(project_id=project.pk).delete()
    controls = _controls(project_schema(project))
    constants = {"project_id": project.pk, "updated_at": timezone.now()}
    ranges = _recompute_ranges(project.pk)
    # Millions of small acyclic objects (parsed results, cases) are made and dropped here: the cyclic
    # collector would walk the growing heap again and again (it cost more than the work itself).
    collecting = gc.isenabled()
    gc.disable()
    recount: Activity | None = None
    try:
        if len(ranges) > 1:
            # The worker processes leave this process mostly waiting and the machine a little room:
            # the totals' recount (grouped statements, about a second at 300k answers) runs beside them
            # in a thread, on committed rows like theirs, instead of after them.
            beside = partial(_recount_on_own_connection, project.pk) if with_activity else None
            totals, recount = _recompute_in_processes(project, controls, ranges, best, constants, beside)
        else:
            totals = _recompute_here(project, controls, best, constants)
            recount = activity_recount(project.pk) if with_activity else None
    finally:
        if collecting:
            gc.enable()
    if recount is not None:
        activity_replace(project.pk, recount)
    now = constants["updated_at"]
    ProjectQualityShard.objects.filter(project_id=project.pk, shard=0).update(
        stats=totals.stats, tasks=totals.tasks, annotations=totals.annotations, updated_at=now
    )
    ProjectQualityShard.objects.filter(project_id=project.pk).exclude(shard=0).update(
        stats={}, tasks=0, annotations=0, updated_at=now
    )
    return totals


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
