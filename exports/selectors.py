"""Read a project's tasks for export in chunks, streamed from a server-side cursor on PostgreSQL.

Memory stays flat however large the project: one chunk of tasks with their
annotations and predictions is in memory at a time, fetched in three queries.

The queries are plain SQL rather than querysets: at a million tasks Django's
per-row and per-parameter work (values_list converters, preparing 2,000 ids for
each ``IN``) cost more than the database's side did.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connection, transaction

from annotation.models import Annotation, Prediction, Project, Task
from exports.formats.rows import ExportAnnotation, ExportPrediction, ExportTask

CHUNK_TASKS = 2000
# Timestamps repeat: every task of one import shares created_at. Formatting each distinct
# value once saves about a microsecond per timestamp; the memo is cleared when it grows.
_ISO_MEMO_MAX = 10_000

_TASKS_SQL = """
SELECT "id", "inner_id", CAST("data" AS TEXT), CAST("meta" AS TEXT), "total_annotations",
       "cancelled_annotations", "total_predictions", "created_at", "updated_at"
FROM "{task}" WHERE "project_id" = %s {only_annotated} {only_ids} ORDER BY "inner_id"
"""
_ANNOTATIONS_SQL = """
SELECT "id", "task_id", "completed_by_id", CAST("result" AS TEXT), "was_cancelled", "ground_truth",
       "lead_time", "parent_prediction_id", "created_at", "updated_at"
FROM "{annotation}" WHERE "task_id" IN ({ids}) ORDER BY "id"
"""
_PREDICTIONS_SQL = """
SELECT "id", "task_id", "model_version", CAST("result" AS TEXT), "score", "created_at"
FROM "{prediction}" WHERE "task_id" IN ({ids}) ORDER BY "id"
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


def export_chunks(
    *, project: Project, only_annotated: bool, task_ids: list[int] | None = None
) -> Iterator[list[ExportTask]]:
    annotated = 'AND ("total_annotations" > 0 OR "cancelled_annotations" > 0)'
    only_ids = f'AND "id" IN ({", ".join(["%s"] * len(task_ids))})' if task_ids else ""
    sql = _TASKS_SQL.format(
        task=Task._meta.db_table, only_annotated=annotated if only_annotated else "", only_ids=only_ids
    )
    iso = _IsoTimes()
    # Inside a transaction the server-side cursor streams rows as they are fetched; in
    # autocommit PostgreSQL would have to materialise the whole result first (WITH HOLD).
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [project.pk, *(task_ids or [])])
        while rows := cursor.fetchmany(CHUNK_TASKS):
            chunk = [
                ExportTask(
                    id=row[0], inner_id=row[1], data_json=row[2], meta_json=row[3], total_annotations=row[4],
                    cancelled_annotations=row[5], total_predictions=row[6], created_at=iso(row[7]),
                    updated_at=iso(row[8]),
                )
                for row in rows
            ]  # fmt: skip
            yield _with_children(chunk, iso)


def _with_children(chunk: list[ExportTask], iso: _IsoTimes) -> list[ExportTask]:
    by_id = {task.id: task for task in chunk}
    ids = list(by_id)
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(_ANNOTATIONS_SQL.format(annotation=Annotation._meta.db_table, ids=placeholders), ids)
        for row in cursor.fetchall():
            by_id[row[1]].annotations.append(
                ExportAnnotation(
                    id=row[0], task_id=row[1], completed_by=row[2], result_json=row[3],
                    was_cancelled=bool(row[4]), ground_truth=bool(row[5]), lead_time=row[6],
                    parent_prediction=row[7], created_at=iso(row[8]), updated_at=iso(row[9]),
                )
            )  # fmt: skip
        cursor.execute(_PREDICTIONS_SQL.format(prediction=Prediction._meta.db_table, ids=placeholders), ids)
        for row in cursor.fetchall():
            by_id[row[1]].predictions.append(
                ExportPrediction(
                    id=row[0], task_id=row[1], model_version=row[2], result_json=row[3], score=row[4],
                    created_at=iso(row[5]),
                )
            )  # fmt: skip
    return chunk
