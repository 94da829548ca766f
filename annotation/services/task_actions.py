"""Bulk actions of the data table on a selection of tasks: delete the tasks, their annotations or
their predictions. Each action is one transaction with its audit events.

Locking: an action takes the project row ``FOR UPDATE`` (as a delete of all tasks does, see
annotation/services/counters.py): writers of the project hold ``FOR KEY SHARE`` on it, so the action
waits for those in flight and later ones wait for it, then find their rows gone (404). The selection
is read once under that lock, before anything is written, so a filter on what the action removes
(annotators, labels, counts) selects the same tasks throughout. Counters change by set-based sums
over the rows removed, read in the same transaction, and the project's totals change once, last.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import (
    Annotation,
    Comment,
    Draft,
    Prediction,
    Project,
    Review,
    ReviewLock,
    Task,
    TaskLock,
    TaskSearchText,
    TaskState,
)
from annotation.selectors import task_ids_selected
from annotation.services import gold
from annotation.services.activity_totals import activity_after, activity_before
from annotation.services.counters import project_totals_add, project_totals_last
from annotation.services.projects import _project_lock
from annotation.services.quality import tasks_quality_forget
from annotation.task_filters import TaskQuery
from tessera.errors import ApplicationError
from tessera.models import AuditEvent, User
from tessera.services import audit_record

# Label Studio's action ids (the SDK's actions.create) name the same actions.
ACTIONS = {
    "delete_tasks": "delete_tasks",
    "delete_annotations": "delete_annotations",
    "delete_tasks_annotations": "delete_annotations",
    "delete_predictions": "delete_predictions",
    "delete_tasks_predictions": "delete_predictions",
}
# Ids per statement: SQLite takes at most 32,766 parameters.
IDS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class _Sums:
    tasks: int = 0
    annotations: int = 0
    predictions: int = 0
    labeled: int = 0
    annotated: int = 0
    with_annotations: int = 0


_SUMS_SQL = """
SELECT COUNT(*), COALESCE(SUM("total_annotations"), 0), COALESCE(SUM("total_predictions"), 0),
       COALESCE(SUM(CASE WHEN "is_labeled" THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN "total_annotations" > 0 THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN "total_annotations" > 0 OR "cancelled_annotations" > 0 THEN 1 ELSE 0 END), 0)
FROM "{task}" WHERE "id" IN ({ids})
"""


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        yield ids[start : start + IDS_PER_STATEMENT]


def _sums(chunk: list[int]) -> _Sums:
    """The counters of these tasks as they stand under the project's lock (exact: every writer keeps them)."""
    with connection.cursor() as cursor:
        cursor.execute(_SUMS_SQL.format(task=Task._meta.db_table, ids=", ".join(["%s"] * len(chunk))), chunk)
        row = cursor.fetchone()
    return _Sums(*(int(value) for value in row))


def _add(total: _Sums, more: _Sums) -> _Sums:
    return _Sums(*(a + b for a, b in zip(total.__dict__.values(), more.__dict__.values(), strict=True)))


def _raw_delete(queryset) -> int:
    # One DELETE, no per-row signals or cascade collection in Python: the children are deleted first.
    return queryset._raw_delete(queryset.db)


def _task_events(*, user: User, project: Project, chunk: list[int], action: str) -> None:
    """One audit event per task, so that each task's history shows what the bulk action did to it."""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization_id=project.organization_id, actor=user, action=action,
                object_type=Task._meta.label_lower, object_id=task_id, details={"bulk": True},
            )
            for task_id in chunk
        ]
    )  # fmt: skip


def _delete_tasks(*, project: Project, user: User, ids: list[int]) -> _Sums:
    total = _Sums()
    for chunk in _chunks(ids):
        total = _add(total, _sums(chunk))
        activity = activity_before(chunk)
        gold.gold_tasks_removed(project=project, task_ids=gold.gold_task_ids(project=project, task_ids=chunk),
                                actor=user)  # fmt: skip
        tasks_quality_forget(project_id=project.pk, task_ids=chunk)
        _raw_delete(ReviewLock.objects.filter(annotation__task_id__in=chunk))
        _raw_delete(Review.objects.filter(annotation__task_id__in=chunk))
        for model in (Comment, TaskLock, Draft, Annotation, Prediction, TaskSearchText):
            _raw_delete(model.objects.filter(task_id__in=chunk))
        _raw_delete(Task.objects.filter(pk__in=chunk))
        activity_after(project.pk, chunk, activity)
    project_totals_add(
        project.pk,
        tasks=-total.tasks,
        annotations=-total.annotations,
        predictions=-total.predictions,
        labeled_tasks=-total.labeled,
        annotated_tasks=-total.annotated,
    )
    return total


def _delete_annotations(*, project: Project, user: User, ids: list[int]) -> _Sums:
    total = _Sums()
    now = timezone.now()
    for chunk in _chunks(ids):
        total = _add(total, _sums(chunk))
        activity = activity_before(chunk)
        tasks_quality_forget(project_id=project.pk, task_ids=chunk)
        # Drafts of corrections belong to the annotations removed; drafts of new answers stay.
        gold_ids = gold.gold_task_ids(project=project, task_ids=chunk)
        gold.gold_tasks_removed(project=project, task_ids=gold_ids, actor=user)
        _raw_delete(Draft.objects.filter(task_id__in=chunk, annotation__isnull=False))
        # Reviews go with the annotations they judged; comments stay on the task, unattached.
        _raw_delete(ReviewLock.objects.filter(annotation__task_id__in=chunk))
        _raw_delete(Review.objects.filter(annotation__task_id__in=chunk))
        Comment.objects.filter(task_id__in=chunk, annotation__isnull=False).update(annotation=None)
        _raw_delete(Annotation.objects.filter(task_id__in=chunk))
        # Without annotations a task is unlabeled again (annotation/services/states.py).
        Task.objects.filter(Q(total_annotations__gt=0) | Q(cancelled_annotations__gt=0), pk__in=chunk).update(
            total_annotations=0, cancelled_annotations=0, is_labeled=False, is_gold=False, labels={},
            updated_at=now, state=TaskState.UNLABELED,
        )  # fmt: skip
        activity_after(project.pk, chunk, activity)
        _task_events(user=user, project=project, chunk=chunk, action="task.annotations_delete")
    project_totals_add(
        project.pk,
        annotations=-total.annotations,
        labeled_tasks=-total.labeled,
        annotated_tasks=-total.annotated,
    )
    return total


def _delete_predictions(*, project: Project, user: User, ids: list[int]) -> _Sums:
    total = _Sums()
    for chunk in _chunks(ids):
        total = _add(total, _sums(chunk))
        # Annotations made from these predictions keep their diff but no longer point at them (the
        # foreign key's SET_NULL, done set-based since the DELETE below bypasses Django's collector).
        Annotation.objects.filter(task_id__in=chunk, parent_prediction__isnull=False).update(
            parent_prediction=None
        )
        _raw_delete(Prediction.objects.filter(task_id__in=chunk))
        Task.objects.filter(pk__in=chunk, total_predictions__gt=0).update(total_predictions=0)
        _task_events(user=user, project=project, chunk=chunk, action="task.predictions_delete")
    project_totals_add(project.pk, predictions=-total.predictions)
    return total


@transaction.atomic
@project_totals_last()
def task_action_run(*, project: Project, user: User, action: object, query: TaskQuery) -> int:
    """Run ``action`` on the tasks ``query`` selects; the number of tasks it processed."""
    name = ACTIONS.get(action) if isinstance(action, str) else None
    if name is None:
        raise ApplicationError(
            _("Unknown action %(action)r; use delete_tasks, delete_annotations or delete_predictions.")
            % {"action": str(action)[:60]},
            field="action",
            code="unknown_action",
        )
    _project_lock(project)
    ids = task_ids_selected(project=project, query=query)
    run = {"delete_tasks": _delete_tasks, "delete_annotations": _delete_annotations,
           "delete_predictions": _delete_predictions}[name]  # fmt: skip
    sums = run(project=project, user=user, ids=ids)
    audit_record(
        actor=user,
        organization=project.organization_id,
        action=f"tasks.{name}",
        obj=project,
        details={
            "processed": sums.tasks,
            "annotations": sums.annotations,
            "predictions": sums.predictions,
            # The ids themselves for a small selection; a large one is described by its filter.
            "task_ids": ids if len(ids) <= IDS_PER_STATEMENT else None,
        },
    )
    return sums.tasks
