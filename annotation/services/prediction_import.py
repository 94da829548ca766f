"""Bulk prediction import for existing tasks (Label Studio's ``POST /api/projects/{id}/import/predictions``).

Every prediction is checked first (its task belongs to the project, its result fits
the label config and the task's text); then all are written set-based in one
transaction with the tasks' prediction counters, so a bad row writes nothing.
"""

from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.bulk import bulk_insert
from annotation.models import Prediction, Project, Task
from annotation.results import ResultValidator
from annotation.services.checks import clean_model_version, clean_score
from annotation.services.counters import project_hold, project_totals_add
from annotation.services.imports import _json_text
from annotation.services.projects import project_schema
from tessera import validation
from tessera.errors import ApplicationError
from tessera.models import User
from tessera.services import audit_record

# Task ids travel as SQL parameters; SQLite allows 32,766 in one statement.
IDS_PER_QUERY = 5000


def _task_id(value, *, field: str) -> int:
    # Within 64 bits too: SQLite cannot take a larger integer as a query parameter.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= validation.INT64_MAX:
        raise ApplicationError(
            _("must be a task id."), field=field, code="required" if value is None else "invalid"
        )
    return value


def _task_data(project: Project, task_ids: set[int]) -> dict[int, dict]:
    ids = sorted(task_ids)
    found: dict[int, dict] = {}
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        found.update(Task.objects.filter(project=project, pk__in=chunk).values_list("pk", "data"))
    return found


def _tasks_hold(project: Project, task_ids: set[int]) -> set[int]:
    ids = sorted(task_ids)
    held: set[int] = set()
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        held.update(
            Task.objects.select_for_update().filter(project=project, pk__in=chunk).order_by("pk")
            .values_list("pk", flat=True)
        )  # fmt: skip
    return held


def predictions_import(*, project: Project, user: User, items: object) -> int:
    """Import predictions for existing tasks; ``items`` is the request body as sent, checked here."""
    if not isinstance(items, list) or not items:
        raise ApplicationError(
            _("Send a non-empty JSON array of predictions."), field="predictions", code="invalid_body"
        )
    if len(items) > settings.TESSERA_MAX_TASKS_PER_IMPORT:
        raise ApplicationError(
            _("The import holds %(count)s predictions; the limit is %(limit)s.")
            % {
                "count": len(items),
                "limit": settings.TESSERA_MAX_TASKS_PER_IMPORT,
            },
            field="predictions",
            code="too_many",
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApplicationError(_("Each prediction must be a JSON object."), field=f"predictions[{index}]")
    task_ids = [
        _task_id(item.get("task"), field=f"predictions[{index}].task") for index, item in enumerate(items)
    ]
    data_by_task = _task_data(project, set(task_ids))
    validator = ResultValidator(project_schema(project))
    rows = []
    for index, (item, task_id) in enumerate(zip(items, task_ids, strict=True)):
        where = f"predictions[{index}]"
        if task_id not in data_by_task:
            # Another project's or organization's task reads as missing, never as someone else's.
            raise ApplicationError(
                _("is not a task of this project."), field=f"{where}.task", code="not_found"
            )
        result = item.get("result", [])
        text = _json_text(result, field=f"{where}.result")
        validator.validate(result, data_by_task[task_id], field=where, text=text)
        model_version = clean_model_version(item.get("model_version"), field=f"{where}.model_version")
        score = clean_score(item.get("score"), field=f"{where}.score")
        rows.append((task_id, project.pk, model_version, text, score))
    now = timezone.now()
    per_task = Counter(task_ids)
    with transaction.atomic():
        # The locking rule of annotation/services/counters.py, for many tasks: in id order, so that two
        # imports over the same tasks queue instead of deadlocking. A task deleted since the check
        # above is refused here, before anything is written.
        project_hold(project.pk)
        held = _tasks_hold(project, set(per_task))
        for index, task_id in enumerate(task_ids):
            if task_id not in held:
                raise ApplicationError(
                    _("is not a task of this project."), field=f"predictions[{index}].task", code="not_found"
                )
        bulk_insert(
            Prediction._meta.db_table,
            ("task_id", "project_id", "model_version", "result", "score", "created_at", "updated_at"),
            ((*row, now, now) for row in rows),
        )
        # Tasks grouped by how many predictions they gain (usually all by one): one UPDATE a group.
        by_count: dict[int, list[int]] = {}
        for task_id, count in per_task.items():
            by_count.setdefault(count, []).append(task_id)
        for count, ids in by_count.items():
            for start in range(0, len(ids), IDS_PER_QUERY):
                Task.objects.filter(pk__in=ids[start : start + IDS_PER_QUERY]).update(
                    total_predictions=F("total_predictions") + count
                )
        project_totals_add(project.pk, predictions=len(rows))
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="predictions.import",
            obj=project,
            details={"prediction_count": len(rows), "task_count": len(per_task)},
        )
    return len(rows)
