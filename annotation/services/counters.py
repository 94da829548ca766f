"""Running totals kept on the project row, so that paging a million tasks needs no COUNT(*) or SUM.

Every service that adds or removes tasks, annotations or predictions calls this
in its own transaction. The UPDATE holds the project's row lock only until that
transaction commits, a millisecond for a submit.
"""

from django.db import connection
from django.db.models import F
from django.utils import timezone

from annotation.models import Project, Task


def project_totals_add(
    project_id: int,
    *,
    tasks: int = 0,
    annotations: int = 0,
    predictions: int = 0,
    labeled_tasks: int = 0,
    annotated_tasks: int = 0,
) -> None:
    changes = {}
    if tasks:
        changes["task_count"] = F("task_count") + tasks
    if tasks < 0:
        # A deleted task shifts the position of every later one: cached page boundaries
        # (annotation/selectors.py) are keyed by this version and go stale with it.
        changes["task_layout_version"] = F("task_layout_version") + 1
    if annotations:
        changes["annotation_total"] = F("annotation_total") + annotations
    if predictions:
        changes["prediction_total"] = F("prediction_total") + predictions
    if labeled_tasks:
        changes["labeled_task_count"] = F("labeled_task_count") + labeled_tasks
    if annotated_tasks:
        changes["annotated_task_count"] = F("annotated_task_count") + annotated_tasks
    if changes:
        Project.objects.filter(pk=project_id).update(**changes)


_TASK_ANNOTATIONS_SQL = """
UPDATE "{task}" SET
  "total_annotations" = "total_annotations" + %s,
  "cancelled_annotations" = "cancelled_annotations" + %s,
  "is_labeled" = ("total_annotations" + %s >= %s),
  "updated_at" = %s
WHERE "id" = %s
RETURNING "total_annotations"
"""


def task_annotation_counters_add(
    task_id: int, *, project_id: int, overlap: int, total_delta: int, cancelled_delta: int
) -> None:
    """Change a task's annotation counters and the project's totals that depend on them.

    The project row is updated first, as every writer of a project's tasks does, so that a submit
    and an overlap change take their locks in the same order. The task's new total comes back from
    its own UPDATE (taken under the task's row lock), so whether it crossed the overlap or left zero
    is exact even when two submits to one task race; only then is the project touched again, to keep
    the labeled and annotated task counts that the project list and the progress call read.
    """
    project_totals_add(project_id, annotations=total_delta)
    with connection.cursor() as cursor:
        cursor.execute(
            _TASK_ANNOTATIONS_SQL.format(task=Task._meta.db_table),
            [total_delta, cancelled_delta, total_delta, overlap, timezone.now(), task_id],
        )
        row = cursor.fetchone()
    if row is None or not total_delta:
        return
    new_total = row[0]
    old_total = new_total - total_delta
    labeled = int(new_total >= overlap) - int(old_total >= overlap)
    annotated = int(new_total > 0) - int(old_total > 0)
    project_totals_add(project_id, labeled_tasks=labeled, annotated_tasks=annotated)
