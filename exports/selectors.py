"""Read a project's tasks for export in chunks, each a short keyset read of its own.

Memory stays flat however large the project: one chunk of tasks with their
annotations and predictions is in memory at a time, fetched in three queries.

The queries are plain SQL rather than querysets: at a million tasks Django's
per-row and per-parameter work (values_list converters, preparing 2,000 ids for
each ``IN``) cost more than the database's side did.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connection

from annotation.models import Annotation, Prediction, Project, Task, TaskQuality
from annotation.selectors import task_query_where
from annotation.task_filters import TaskQuery
from exports.formats.rows import ExportAnnotation, ExportPrediction, ExportTask

CHUNK_TASKS = 2000
# Timestamps repeat: every task of one import shares created_at. Formatting each distinct
# value once saves about a microsecond per timestamp; the memo is cleared when it grows.
_ISO_MEMO_MAX = 10_000

_TASKS_SQL = """
SELECT t."id", t."inner_id", CAST(t."data" AS TEXT), CAST(t."meta" AS TEXT), t."total_annotations",
       t."cancelled_annotations", t."total_predictions", t."created_at", t."updated_at"
FROM "{task}" t WHERE {filtered} AND t."inner_id" > %s {only_annotated} {only_ids}
ORDER BY t."inner_id" LIMIT %s
"""
_ANNOTATIONS_SQL = """
SELECT "id", "task_id", "completed_by_id", CAST("result" AS TEXT), "was_cancelled", "ground_truth",
       "lead_time", "parent_prediction_id", "created_at", "updated_at", "review_state"
FROM "{annotation}" WHERE {tasks} ORDER BY "id"
"""
# Only tasks with two or more answers have a row, and only those at their overlap a consensus.
_CONSENSUS_SQL = """
SELECT "task_id", CAST("consensus" AS TEXT), "tie", "agreement"
FROM "{quality}" WHERE {tasks} AND "consensus" IS NOT NULL
"""
_PREDICTIONS_SQL = """
SELECT "id", "task_id", "model_version", CAST("result" AS TEXT), "score", "created_at"
FROM "{prediction}" WHERE {tasks} ORDER BY "id"
"""


class _IsoTimes:
    def __init__(self):
        self.memo: dict[datetime, str] = {}

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        text = self.memo.get(value)
        if text is None:
            if len(self.memo) >= _ISO_MEMO_MAX:
                self.memo.clear()
            # SQLite hands back naive UTC datetimes; PostgreSQL aware ones. Both print as UTC.
            aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            text = self.memo[value] = aware.isoformat()
        return text


def _filtered(project: Project, query: TaskQuery | None) -> tuple[str, list]:
    """The project's tasks, narrowed by the data table's filter when there is one."""
    if query is None:
        return 't."project_id" = %s', [project.pk]
    return task_query_where(project=project, query=query)


def export_chunks(
    *,
    project: Project,
    only_annotated: bool,
    task_ids: list[int] | None = None,
    query: TaskQuery | None = None,
) -> Iterator[list[ExportTask]]:
    annotated = 'AND (t."total_annotations" > 0 OR t."cancelled_annotations" > 0)'
    only_ids = f'AND t."id" IN ({", ".join(["%s"] * len(task_ids))})' if task_ids else ""
    filtered, filter_params = _filtered(project, query)
    sql = _TASKS_SQL.format(
        task=Task._meta.db_table,
        filtered=filtered,
        only_annotated=annotated if only_annotated else "",
        only_ids=only_ids,
    )
    iso = _IsoTimes()
    # Keyset pages of the project's (project_id, inner_id) index, each read in its own short
    # statement with no transaction around the download. A transaction would hold for as long as the
    # slowest client reads: on SQLite, where transactions begin IMMEDIATE, it held the write lock and
    # every write of every organization failed with "database is locked"; on PostgreSQL it held back
    # vacuum for the whole project. The export is therefore not one snapshot: a task added or deleted
    # while it streams may or may not be in it, as in Label Studio's own export.
    after = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*filter_params, after, *(task_ids or []), CHUNK_TASKS])
            rows = cursor.fetchall()
        if not rows:
            return
        after = rows[-1][1]
        chunk = [
            ExportTask(
                id=row[0], inner_id=row[1], data_json=row[2], meta_json=row[3], total_annotations=row[4],
                cancelled_annotations=row[5], total_predictions=row[6], created_at=iso(row[7]),
                updated_at=iso(row[8]),
            )
            for row in rows
        ]  # fmt: skip
        yield _with_children(chunk, iso)
        if len(rows) < CHUNK_TASKS:
            return


def _tasks_condition(ids: list[int]) -> tuple[str, list[int]]:
    """Which tasks' children to read. Tasks of one import have consecutive ids, so a chunk's ids
    usually fill a range: one index range scan then costs half of 2,000 probes for an IN list,
    and much less than parsing that list where no child exists. Rows of tasks outside the chunk
    that fall in the range are dropped by the caller."""
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return '"task_id" BETWEEN %s AND %s', [low, high]
    return f'"task_id" IN ({", ".join(["%s"] * len(ids))})', ids


def _with_children(chunk: list[ExportTask], iso: _IsoTimes) -> list[ExportTask]:
    by_id = {task.id: task for task in chunk}
    tasks, params = _tasks_condition(list(by_id))
    with connection.cursor() as cursor:
        cursor.execute(_ANNOTATIONS_SQL.format(annotation=Annotation._meta.db_table, tasks=tasks), params)
        for row in cursor.fetchall():
            task = by_id.get(row[1])
            if task is None:
                continue
            task.annotations.append(
                ExportAnnotation(
                    id=row[0], task_id=row[1], completed_by=row[2], result_json=row[3],
                    was_cancelled=bool(row[4]), ground_truth=bool(row[5]), lead_time=row[6],
                    parent_prediction=row[7], created_at=iso(row[8]), updated_at=iso(row[9]),
                    review_state=row[10],
                )
            )  # fmt: skip
        cursor.execute(_PREDICTIONS_SQL.format(prediction=Prediction._meta.db_table, tasks=tasks), params)
        for row in cursor.fetchall():
            task = by_id.get(row[1])
            if task is None:
                continue
            task.predictions.append(
                ExportPrediction(
                    id=row[0], task_id=row[1], model_version=row[2], result_json=row[3], score=row[4],
                    created_at=iso(row[5]),
                )
            )  # fmt: skip
        cursor.execute(_CONSENSUS_SQL.format(quality=TaskQuality._meta.db_table, tasks=tasks), params)
        for task_id, consensus_json, tie, agreement in cursor.fetchall():
            task = by_id.get(task_id)
            if task is None or consensus_json is None or consensus_json == "null":
                continue
            task.consensus_json = (
                f'{{"result":{consensus_json},"tie":{"true" if tie else "false"},'
                f'"agreement":{"null" if agreement is None else float.__repr__(float(agreement))}}}'
            )
    return chunk


def export_data_keys(
    *,
    project: Project,
    only_annotated: bool,
    task_ids: list[int] | None = None,
    query: TaskQuery | None = None,
) -> tuple[str, ...]:
    """Every top-level key of the exported tasks' data, sorted: a table needs its columns before its
    first row, and tasks of one project may carry fields beyond the ones the label config reads.

    One pass over the tasks' data inside the database, with the same filters as ``export_chunks``.
    """
    filtered, filter_params = _filtered(project, query)
    conditions = [filtered]
    if only_annotated:
        conditions.append('(t."total_annotations" > 0 OR t."cancelled_annotations" > 0)')
    if task_ids:
        conditions.append(f't."id" IN ({", ".join(["%s"] * len(task_ids))})')
    where = " AND ".join(conditions)
    if connection.vendor == "postgresql":
        sql = f'SELECT DISTINCT jsonb_object_keys(t."data") FROM "{Task._meta.db_table}" t WHERE {where}'
    else:
        sql = f'SELECT DISTINCT j."key" FROM "{Task._meta.db_table}" t, json_each(t."data") j WHERE {where}'
    with connection.cursor() as cursor:
        cursor.execute(sql, [*filter_params, *(task_ids or [])])
        return tuple(sorted(row[0] for row in cursor.fetchall()))


def export_task_count(
    *,
    project: Project,
    only_annotated: bool,
    task_ids: list[int] | None = None,
    query: TaskQuery | None = None,
    cap: int,
) -> int:
    """How many tasks an export with these filters holds, counted up to ``cap`` + 1 (a limit's check needs
    no more, and a million-task project is not counted in full for it)."""
    filtered, filter_params = _filtered(project, query)
    conditions = [filtered]
    if only_annotated:
        conditions.append('(t."total_annotations" > 0 OR t."cancelled_annotations" > 0)')
    if task_ids:
        conditions.append(f't."id" IN ({", ".join(["%s"] * len(task_ids))})')
    sql = (
        f'SELECT COUNT(*) FROM (SELECT 1 FROM "{Task._meta.db_table}" t '
        f"WHERE {' AND '.join(conditions)} LIMIT %s) capped"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*filter_params, *(task_ids or []), cap + 1])
        return cursor.fetchone()[0]
