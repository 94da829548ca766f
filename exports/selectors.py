"""Read a project's tasks for export in chunks, from a server-side cursor on PostgreSQL.

Memory stays flat however large the project: one chunk of tasks with their
annotations and predictions is in memory at a time, fetched in three queries.
"""

from collections.abc import Iterator

from django.db.models import Q, TextField
from django.db.models.functions import Cast

from annotation.models import Annotation, Prediction, Project, Task
from exports.formats.rows import ExportAnnotation, ExportPrediction, ExportTask

CHUNK_TASKS = 2000


def _iso(value) -> str:
    return value.isoformat() if value else ""


def export_chunks(*, project: Project, only_annotated: bool) -> Iterator[list[ExportTask]]:
    tasks = Task.objects.filter(project=project)
    if only_annotated:
        tasks = tasks.filter(Q(total_annotations__gt=0) | Q(cancelled_annotations__gt=0))
    rows = (
        tasks.order_by("inner_id")
        .annotate(data_text=Cast("data", TextField()), meta_text=Cast("meta", TextField()))
        .values_list(
            "id", "inner_id", "data_text", "meta_text", "total_annotations", "cancelled_annotations",
            "total_predictions", "created_at", "updated_at",
        )
        .iterator(chunk_size=CHUNK_TASKS)
    )  # fmt: skip
    chunk: list[ExportTask] = []
    for row in rows:
        chunk.append(
            ExportTask(
                id=row[0], inner_id=row[1], data_json=row[2], meta_json=row[3], total_annotations=row[4],
                cancelled_annotations=row[5], total_predictions=row[6], created_at=_iso(row[7]),
                updated_at=_iso(row[8]),
            )
        )  # fmt: skip
        if len(chunk) == CHUNK_TASKS:
            yield _with_children(chunk)
            chunk = []
    if chunk:
        yield _with_children(chunk)


def _with_children(chunk: list[ExportTask]) -> list[ExportTask]:
    by_id = {task.id: task for task in chunk}
    ids = list(by_id)
    annotations = (
        Annotation.objects.filter(task_id__in=ids)
        .order_by("id")
        .annotate(result_text=Cast("result", TextField()))
        .values_list(
            "id", "task_id", "completed_by_id", "result_text", "was_cancelled", "ground_truth", "lead_time",
            "parent_prediction_id", "created_at", "updated_at",
        )
    )  # fmt: skip
    for row in annotations:
        by_id[row[1]].annotations.append(
            ExportAnnotation(
                id=row[0], task_id=row[1], completed_by=row[2], result_json=row[3], was_cancelled=row[4],
                ground_truth=row[5], lead_time=row[6], parent_prediction=row[7], created_at=_iso(row[8]),
                updated_at=_iso(row[9]),
            )
        )  # fmt: skip
    predictions = (
        Prediction.objects.filter(task_id__in=ids)
        .order_by("id")
        .annotate(result_text=Cast("result", TextField()))
        .values_list("id", "task_id", "model_version", "result_text", "score", "created_at")
    )
    for row in predictions:
        by_id[row[1]].predictions.append(
            ExportPrediction(
                id=row[0], task_id=row[1], model_version=row[2], result_json=row[3], score=row[4],
                created_at=_iso(row[5]),
            )
        )  # fmt: skip
    return chunk
