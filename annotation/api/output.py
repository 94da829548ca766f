"""Response bodies in Label Studio's shapes. Plain dict builders: a page of 100 tasks with their
annotations renders in well under a millisecond, where nested DRF serializers cost several."""

import json
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from annotation.models import (
    Annotation,
    Draft,
    ImportJob,
    Prediction,
    Project,
    ProjectMember,
    Review,
    Task,
    TaskLock,
)
from annotation.services.imports import ImportCounts
from annotation.services.review import Rejection
from tessera.api.output import time_out as _time
from tessera.api.output import user_simple_out
from tessera.models import AuditEvent

Row = TypeVar("Row")


def json_array_chunks(
    rows: Iterable[Row], render: Callable[[Row], dict], *, per_chunk: int = 500
) -> Iterator[bytes]:
    """A JSON array of ``render(row)`` written a few hundred rows at a time, so a list of any
    length streams in flat memory."""
    yield b"["
    pieces: list[str] = []
    first = True
    for row in rows:
        pieces.append(json.dumps(render(row), ensure_ascii=False))
        if len(pieces) == per_chunk:
            yield (("" if first else ",") + ",".join(pieces)).encode()
            pieces, first = [], False
    if pieces:
        yield (("" if first else ",") + ",".join(pieces)).encode()
    yield b"]"


def project_out(project: Project) -> dict:
    return {
        "id": project.pk,
        "title": project.title,
        "description": project.description,
        "label_config": project.label_config,
        "parsed_label_config": project.parsed_label_config,
        "data_variables": project.data_variables,
        "expert_instruction": project.expert_instruction,
        "show_instruction": project.show_instruction,
        "show_skip_button": project.show_skip_button,
        "enable_empty_annotation": project.enable_empty_annotation,
        "maximum_annotations": project.maximum_annotations,
        "sampling": project.sampling,
        "color": project.color,
        "members_only": project.members_only,
        "review_policy": project.review_policy,
        "review_sample_percent": project.review_sample_percent,
        "review_agreement_threshold": project.review_agreement_threshold,
        "show_annotations_after_submit": project.show_annotations_after_submit,
        "gold_ratio": project.gold_ratio,
        "gold_score_floor": project.gold_score_floor,
        "gold_floor_pauses_queue": project.gold_floor_pauses_queue,
        "comments_block_acceptance": project.comments_block_acceptance,
        "prelabel_refit_every": project.prelabel_refit_every,
        "organization": project.organization_id,
        "created_by": user_simple_out(project.created_by),
        "created_at": _time(project.created_at),
        "updated_at": _time(project.updated_at),
        "task_number": project.task_count,
        "num_tasks_with_annotations": project.annotated_task_count,
        "is_published": True,
    }


def annotation_out(annotation: Annotation) -> dict:
    return {
        "id": annotation.pk,
        "task": annotation.task_id,
        "project": annotation.project_id,
        "completed_by": annotation.completed_by_id,
        "result": annotation.result,
        "was_cancelled": annotation.was_cancelled,
        "skip_reason": annotation.skip_reason,
        "ground_truth": annotation.ground_truth,
        "review_state": annotation.review_state,
        "lead_time": annotation.lead_time,
        "parent_prediction": annotation.parent_prediction_id,
        "prediction_changes": annotation.prediction_changes,
        "created_at": _time(annotation.created_at),
        "updated_at": _time(annotation.updated_at),
    }


def prediction_out(prediction: Prediction) -> dict:
    return {
        "id": prediction.pk,
        "task": prediction.task_id,
        "project": prediction.project_id,
        "model_version": prediction.model_version,
        "result": prediction.result,
        "score": prediction.score,
        "created_at": _time(prediction.created_at),
        "updated_at": _time(prediction.updated_at),
    }


def task_out(task: Task, *, hide_gold: bool = False, as_unanswered: bool = False) -> dict:
    """``hide_gold``: for annotators, to whom a gold task must not say it is one (``is_gold`` false).
    ``as_unanswered``: the queue's view besides, with the counters and state of a task nobody has
    answered, which a gold task's ground truth and earlier answers would otherwise give away."""
    body = {
        "id": task.pk,
        "project": task.project_id,
        "data": task.data,
        "meta": task.meta,
        "inner_id": task.inner_id,
        "is_labeled": task.is_labeled,
        "total_annotations": task.total_annotations,
        "cancelled_annotations": task.cancelled_annotations,
        "total_predictions": task.total_predictions,
        "state": task.state,
        "is_gold": task.is_gold,
        "created_at": _time(task.created_at),
        "updated_at": _time(task.updated_at),
    }
    if hide_gold and task.is_gold:
        body["is_gold"] = False
        if as_unanswered:
            body.update(is_labeled=False, total_annotations=0, cancelled_annotations=0, state="unlabeled")
    if hasattr(task, "annotation_list"):
        body["annotations"] = [annotation_out(a) for a in task.annotation_list]
    if hasattr(task, "prediction_list"):
        body["predictions"] = [prediction_out(p) for p in task.prediction_list]
    return body


def task_page_out(
    tasks: list[Task],
    *,
    total: int,
    total_annotations: int,
    total_predictions: int,
    total_exact: bool = True,
    hide_gold: bool = False,
) -> dict:
    """Label Studio's task page; the SDK's PaginatedRoleBasedTaskList requires the first four keys
    (and keeps any other)."""
    return {
        "tasks": [task_out(task, hide_gold=hide_gold) for task in tasks],
        "total": total,
        "total_annotations": total_annotations,
        "total_predictions": total_predictions,
        "total_exact": total_exact,
    }


def history_event_out(event: AuditEvent) -> dict:
    return {
        "id": event.pk,
        "action": event.action,
        "actor": user_simple_out(event.actor),
        "object_type": event.object_type,
        "object_id": event.object_id,
        "details": event.details,
        "created_at": _time(event.created_at),
    }


def draft_out(draft: Draft) -> dict:
    return {
        "id": draft.pk,
        "task": draft.task_id,
        "user": draft.user_id,
        "annotation": draft.annotation_id,
        "result": draft.result,
        "lead_time": draft.lead_time,
        "created_at": _time(draft.created_at),
        "updated_at": _time(draft.updated_at),
    }


def lock_out(lock: TaskLock) -> dict:
    return {"task": lock.task_id, "user": lock.user_id, "expires_at": _time(lock.expires_at)}


def import_counts_out(counts: ImportCounts, *, task_ids: bool = False) -> dict:
    """A synchronous import's answer. The SDK's ImportTasksProjectsResponse reads ``predictions_count``
    where Label Studio's server writes ``prediction_count``: both are sent so either reader finds it."""
    body = counts.as_dict() | {
        "predictions_count": counts.prediction_count,
        "file_upload_ids": [],
        "could_be_tasks_list": False,
        "found_formats": [],
        "data_columns": [],
    }
    if task_ids:
        body["task_ids"] = counts.task_ids
    return body


def _job_error_text(error: dict | None) -> str | None:
    if not error:
        return None
    return f"{error['field']}: {error['message']}" if error.get("field") else error.get("message")


def import_job_out(job: ImportJob) -> dict:
    # Label Studio's ProjectImport has ``error`` as text (the SDK parses it as a string);
    # ``error_detail`` keeps the code, message and field apart for programs.
    return {
        "id": job.pk,
        "project": job.project_id,
        "status": job.state,
        "original_name": job.original_name,
        "format": job.file_format,
        "column_map": job.column_map,
        "size_bytes": job.size_bytes,
        "rows_done": job.rows_done,
        "task_count": job.task_count,
        "annotation_count": job.annotation_count,
        "prediction_count": job.prediction_count,
        "error": _job_error_text(job.error),
        "error_detail": job.error,
        "attempts": job.attempts,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
    }


def project_member_out(member: ProjectMember, *, role: str) -> dict:
    return {"user": user_simple_out(member.user), "role": role, "added_at": _time(member.created_at)}


def review_out(review: Review) -> dict:
    return {
        "id": review.pk,
        "annotation": review.annotation_id,
        "task": review.annotation.task_id,
        "project": review.project_id,
        "verdict": review.verdict,
        "comment": review.comment,
        "result": review.result,
        "reviewer": user_simple_out(review.reviewer),
        "created_at": _time(review.created_at),
    }


def rejection_out(rejection: Rejection) -> dict:
    """What the labeling page shows above a task a reviewer sent back: their reason, and the caller's
    annotation to correct (PATCH it)."""
    review = rejection.review
    return {
        "annotation": rejection.annotation.pk,
        "result": rejection.annotation.result,
        "comment": review.comment if review else "",
        "reviewer": user_simple_out(review.reviewer) if review else None,
        "created_at": _time(review.created_at if review else rejection.annotation.updated_at),
    }
