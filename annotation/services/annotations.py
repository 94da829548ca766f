"""Annotation, draft and prediction writes. Each keeps the task's counters right in the same transaction."""

import json
import math

from django.conf import settings
from django.db import transaction
from django.db.models import F

from annotation.models import Annotation, Draft, Prediction, Task, TaskLock
from annotation.prediction_diff import prediction_diff
from annotation.results import validate_result
from annotation.services.checks import clean_model_version, clean_score
from annotation.services.counters import project_totals_add, task_annotation_counters_add
from annotation.services.projects import project_schema
from tessera.errors import ApplicationError, PermissionDenied
from tessera.models import ROLE_RANK, Membership, Role, User
from tessera.services import audit_record


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _check_size(result, *, field: str) -> None:
    # Bytes as stored (UTF-8): Japanese text takes three per character.
    size = len(json.dumps(result, ensure_ascii=False).encode())
    if size > settings.TESSERA_MAX_RESULT_BYTES:
        raise ApplicationError(
            f"The result is {size} bytes; the limit is {settings.TESSERA_MAX_RESULT_BYTES}.",
            field=field,
            code="too_large",
        )
    if _contains_nul(result):
        raise ApplicationError("Text may not contain the NUL character.", field=field, code="nul_character")


def _check_result(task: Task, result) -> None:
    _check_size(result, field="result")
    validate_result(project_schema(task.project), result, task.data, field="")


def _counter_update(
    task_id: int, *, project_id: int, overlap: int, total_delta: int, cancelled_delta: int
) -> None:
    """Adjust counters with one UPDATE; is_labeled compares the new total with the overlap."""
    task_annotation_counters_add(
        task_id, project_id=project_id, overlap=overlap, total_delta=total_delta, cancelled_delta=cancelled_delta
    )


def _may_edit(annotation: Annotation, *, user: User, membership: Membership) -> None:
    if annotation.completed_by_id != user.pk and membership.rank < ROLE_RANK[Role.MANAGER]:
        raise PermissionDenied("You may only change your own annotations.", code="not_author")


def _number(value, *, field: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ApplicationError("must be a non-negative number of seconds.", field=field)
    return float(value)


def _flag(value, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise ApplicationError("must be true or false.", field=field)
    return value


def _refuse_reassignment(claimed: dict, current: dict) -> None:
    """The server sets an annotation's author, task and project; a client may repeat them, never change them."""
    for name, value in current.items():
        if claimed.get(name) is not None and claimed[name] != value:
            message = (
                "completed_by is always the caller; it cannot name someone else."
                if name == "completed_by"
                else f"{name} cannot be changed."
            )
            raise PermissionDenied(message, field=name, code="read_only")


@transaction.atomic
def annotation_create(
    *,
    task: Task,
    user: User,
    result,
    was_cancelled: bool = False,
    ground_truth: bool = False,
    lead_time=None,
    parent_prediction_id: int | None = None,
    claimed: dict | None = None,
) -> Annotation:
    """``claimed`` holds what the client said about completed_by, task and project, to refuse a mismatch."""
    _refuse_reassignment(
        claimed or {}, {"completed_by": user.pk, "task": task.pk, "project": task.project_id}
    )
    was_cancelled = _flag(was_cancelled, field="was_cancelled")
    ground_truth = _flag(ground_truth, field="ground_truth")
    lead_time = _number(lead_time, field="lead_time")
    if result is None:
        result = []
    _check_result(task, result)
    if not was_cancelled and not result and not task.project.enable_empty_annotation:
        raise ApplicationError(
            "This project does not accept empty annotations.", field="result", code="empty"
        )
    changes = None
    if parent_prediction_id is not None:
        prediction = Prediction.objects.filter(pk=parent_prediction_id, task=task).only("result").first()
        if prediction is None:
            raise ApplicationError(
                "parent_prediction is not a prediction of this task.", field="parent_prediction"
            )
        changes = prediction_diff(prediction.result, result)
    annotation = Annotation.objects.create(
        task=task,
        project_id=task.project_id,
        completed_by=user,
        result=result,
        was_cancelled=was_cancelled,
        ground_truth=ground_truth,
        lead_time=lead_time,
        parent_prediction_id=parent_prediction_id,
        prediction_changes=changes,
    )
    _counter_update(
        task.pk,
        project_id=task.project_id,
        overlap=task.project.maximum_annotations,
        total_delta=0 if was_cancelled else 1,
        cancelled_delta=1 if was_cancelled else 0,
    )
    # Submitting ends the user's draft and their hold on the task.
    Draft.objects.filter(task=task, user=user, annotation__isnull=True).delete()
    TaskLock.objects.filter(task=task, user=user).delete()
    audit_record(
        actor=user,
        organization=task.project.organization_id,
        action="annotation.skip" if was_cancelled else "annotation.create",
        obj=annotation,
    )
    return annotation


@transaction.atomic
def annotation_update(
    *, annotation: Annotation, user: User, membership: Membership, fields: dict
) -> Annotation:
    _may_edit(annotation, user=user, membership=membership)
    for forbidden in ("completed_by", "task", "project"):
        if forbidden in fields:
            current = {"completed_by": annotation.completed_by_id, "task": annotation.task_id,
                       "project": annotation.project_id}[forbidden]  # fmt: skip
            if fields[forbidden] != current:
                raise PermissionDenied(f"{forbidden} cannot be changed.", field=forbidden, code="read_only")
    annotation = Annotation.objects.select_for_update().select_related("task__project").get(pk=annotation.pk)
    task = annotation.task
    was_cancelled_before = annotation.was_cancelled
    if "result" in fields:
        result = fields["result"] if fields["result"] is not None else []
        _check_result(task, result)
        annotation.result = result
        if annotation.parent_prediction_id is not None:
            prediction = Prediction.objects.filter(pk=annotation.parent_prediction_id).only("result").first()
            annotation.prediction_changes = prediction_diff(prediction.result, result) if prediction else None
    if "was_cancelled" in fields:
        annotation.was_cancelled = _flag(fields["was_cancelled"], field="was_cancelled")
    if "ground_truth" in fields:
        annotation.ground_truth = _flag(fields["ground_truth"], field="ground_truth")
    if "lead_time" in fields:
        annotation.lead_time = _number(fields["lead_time"], field="lead_time")
    # The same rule as on create, or clearing a result or un-skipping would slip an empty one in.
    if not annotation.was_cancelled and not annotation.result and not task.project.enable_empty_annotation:
        raise ApplicationError(
            "This project does not accept empty annotations.", field="result", code="empty"
        )
    annotation.save()
    if annotation.was_cancelled != was_cancelled_before:
        delta = 1 if was_cancelled_before else -1
        _counter_update(
            task.pk,
            project_id=task.project_id,
            overlap=task.project.maximum_annotations,
            total_delta=delta,
            cancelled_delta=-delta,
        )
    Draft.objects.filter(annotation=annotation, user=user).delete()
    audit_record(
        actor=user,
        organization=task.project.organization_id,
        action="annotation.update",
        obj=annotation,
        details={"fields": sorted(set(fields) & {"result", "was_cancelled", "ground_truth", "lead_time"})},
    )
    return annotation


@transaction.atomic
def annotation_delete(*, annotation: Annotation, user: User, membership: Membership) -> None:
    _may_edit(annotation, user=user, membership=membership)
    task = annotation.task
    _counter_update(
        task.pk,
        project_id=task.project_id,
        overlap=task.project.maximum_annotations,
        total_delta=0 if annotation.was_cancelled else -1,
        cancelled_delta=-1 if annotation.was_cancelled else 0,
    )
    audit_record(
        actor=user, organization=task.project.organization_id, action="annotation.delete", obj=annotation
    )
    annotation.delete()


@transaction.atomic
def prediction_create(*, task: Task, user: User, result, model_version="", score=None) -> Prediction:
    if result is None:
        result = []
    _check_result(task, result)
    model_version = clean_model_version(model_version, field="model_version")
    score = clean_score(score, field="score")
    prediction = Prediction.objects.create(
        task=task, project_id=task.project_id, result=result, model_version=model_version, score=score
    )
    Task.objects.filter(pk=task.pk).update(total_predictions=F("total_predictions") + 1)
    project_totals_add(task.project_id, predictions=1)
    audit_record(
        actor=user, organization=task.project.organization_id, action="prediction.create", obj=prediction
    )
    return prediction


@transaction.atomic
def prediction_update(*, prediction: Prediction, user: User, fields: dict) -> Prediction:
    """Change a prediction's result, score or model version, as Label Studio's PATCH allows."""
    for forbidden in ("task", "project"):
        if forbidden in fields and fields[forbidden] != getattr(prediction, f"{forbidden}_id"):
            raise PermissionDenied(f"{forbidden} cannot be changed.", field=forbidden, code="read_only")
    prediction = Prediction.objects.select_for_update().select_related("task__project").get(pk=prediction.pk)
    if "result" in fields:
        result = fields["result"] if fields["result"] is not None else []
        _check_result(prediction.task, result)
        prediction.result = result
    if "model_version" in fields:
        prediction.model_version = clean_model_version(fields["model_version"], field="model_version")
    if "score" in fields:
        prediction.score = clean_score(fields["score"], field="score")
    prediction.save()
    audit_record(
        actor=user,
        organization=prediction.task.project.organization_id,
        action="prediction.update",
        obj=prediction,
        details={"fields": sorted(set(fields) & {"result", "model_version", "score"})},
    )
    return prediction


@transaction.atomic
def prediction_delete(*, prediction: Prediction, user: User) -> None:
    Task.objects.filter(pk=prediction.task_id).update(total_predictions=F("total_predictions") - 1)
    project_totals_add(prediction.project_id, predictions=-1)
    audit_record(
        actor=user,
        organization=prediction.project.organization_id,
        action="prediction.delete",
        obj=prediction,
    )
    prediction.delete()


@transaction.atomic
def draft_save(
    *,
    task: Task,
    user: User,
    result,
    lead_time=None,
    annotation: Annotation | None = None,
    draft: Draft | None = None,
) -> Draft:
    """Create or update the user's draft. Drafts are not validated against the config: work in progress may be partial."""
    if not isinstance(result, list):
        raise ApplicationError("result must be a list of regions.", field="result")
    _check_size(result, field="result")
    if draft is None:
        # Autosaves can race (two tabs, a retry): holding the task row makes the second wait and
        # then update the draft the first created, instead of adding a duplicate.
        Task.objects.select_for_update().filter(pk=task.pk).values_list("pk", flat=True).first()
        draft = Draft.objects.filter(task=task, user=user, annotation=annotation).first() or Draft(
            task=task, user=user, annotation=annotation
        )
    if draft.user_id != user.pk:
        raise PermissionDenied("You may only change your own drafts.", code="not_author")
    draft.result = result
    draft.lead_time = _number(lead_time, field="lead_time")
    draft.save()
    return draft


@transaction.atomic
def draft_delete(*, draft: Draft, user: User) -> None:
    if draft.user_id != user.pk:
        raise PermissionDenied("You may only delete your own drafts.", code="not_author")
    draft.delete()


@transaction.atomic
def task_update(*, task: Task, user: User, fields: dict) -> Task:
    from annotation.results import validate_task_data

    if "data" in fields:
        validate_task_data(project_schema(task.project), fields["data"], field="data")
        _check_size(fields["data"], field="data")
        task.data = fields["data"]
    if "meta" in fields:
        if not isinstance(fields["meta"], dict):
            raise ApplicationError("meta must be a JSON object.", field="meta")
        task.meta = fields["meta"]
    task.save()
    audit_record(actor=user, organization=task.project.organization_id, action="task.update", obj=task)
    return task


@transaction.atomic
def task_delete(*, task: Task, user: User) -> None:
    task = Task.objects.select_for_update().select_related("project").get(pk=task.pk)
    project_totals_add(
        task.project_id, tasks=-1, annotations=-task.total_annotations, predictions=-task.total_predictions,
        labeled_tasks=-int(task.is_labeled), annotated_tasks=-int(task.total_annotations > 0),
    )  # fmt: skip
    audit_record(actor=user, organization=task.project.organization_id, action="task.delete", obj=task)
    task.delete()
