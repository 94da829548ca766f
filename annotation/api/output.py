"""Response bodies in Label Studio's shapes. Plain dict builders: a page of 100 tasks with their
annotations renders in well under a millisecond, where nested DRF serializers cost several."""

from annotation.models import Annotation, Draft, ImportJob, Prediction, Project, Task, TaskLock


def _time(value) -> str | None:
    return value.isoformat() if value else None


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
        "organization": project.organization_id,
        "created_by": project.created_by_id,
        "created_at": _time(project.created_at),
        "updated_at": _time(project.updated_at),
        "task_number": project.task_count,
        "num_tasks_with_annotations": getattr(project, "num_tasks_with_annotations", None),
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
        "ground_truth": annotation.ground_truth,
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


def task_out(task: Task) -> dict:
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
        "created_at": _time(task.created_at),
        "updated_at": _time(task.updated_at),
    }
    if hasattr(task, "annotation_list"):
        body["annotations"] = [annotation_out(a) for a in task.annotation_list]
    if hasattr(task, "prediction_list"):
        body["predictions"] = [prediction_out(p) for p in task.prediction_list]
    return body


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


def import_job_out(job: ImportJob) -> dict:
    return {
        "id": job.pk,
        "project": job.project_id,
        "status": job.state,
        "original_name": job.original_name,
        "format": job.file_format,
        "size_bytes": job.size_bytes,
        "rows_done": job.rows_done,
        "task_count": job.task_count,
        "annotation_count": job.annotation_count,
        "prediction_count": job.prediction_count,
        "error": job.error,
        "attempts": job.attempts,
        "created_at": _time(job.created_at),
        "started_at": _time(job.started_at),
        "finished_at": _time(job.finished_at),
    }
