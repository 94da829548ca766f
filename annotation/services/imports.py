"""Task import: check every item, then write tasks, annotations and predictions set-based in one transaction.

Nothing is written unless every row passes: checking happens before the
transaction opens, and the writes share one transaction, so a failure at any
point leaves the project as it was.
"""

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from annotation.bulk import bulk_insert
from annotation.importing.gc_pause import gc_paused
from annotation.importing.parsers import TaskItem
from annotation.label_config import LabelSchema
from annotation.models import Annotation, ImportJob, JobState, Prediction, Project, Task
from annotation.results import ResultValidator, validate_task_data
from annotation.services.checks import clean_model_version, clean_score
from annotation.services.leases import Lease
from annotation.services.projects import project_schema
from tessera import validation
from tessera.adapters.c_json_encoder import compact_encoder
from tessera.errors import ApplicationError
from tessera.models import Membership, User
from tessera.services import audit_record

PROGRESS_EVERY_ROWS = 20_000


@dataclass
class ImportCounts:
    task_count: int = 0
    annotation_count: int = 0
    prediction_count: int = 0
    duration: float = 0.0
    task_ids: list[int] | None = None

    def as_dict(self) -> dict:
        return {
            "task_count": self.task_count,
            "annotation_count": self.annotation_count,
            "prediction_count": self.prediction_count,
            "duration": round(self.duration, 3),
        }


_encode = compact_encoder()


def _json_text(value, *, field: str) -> str:
    """A value's compact JSON text, checked by tessera.validation's rules (text, depth, integers).

    The checks scan the text the import needs anyway, at C speed; a walk of the value runs only when
    a scan trips, so that a million tasks are not walked twice.
    """
    try:
        text = _encode(value)
    except RecursionError:
        # Deeper than the interpreter's stack allows the C encoder: the walk names it (too_deep).
        validation.check_json(value, field=field)
        raise
    return validation.check_encoded_json(text, value, field=field)


class _AuthorResolver:
    """Maps an import's ``completed_by`` (a member's id or e-mail) to a user id of the project's organization."""

    def __init__(self, project: Project, default_user: User):
        self.default_id = default_user.pk
        members = Membership.objects.filter(organization_id=project.organization_id).values_list(
            "user_id", "user__email"
        )
        self.by_id = {user_id for user_id, _ in members}
        self.by_email = {email.lower(): user_id for user_id, email in members}

    def resolve(self, value, *, field: str) -> int:
        if value is None:
            return self.default_id
        if isinstance(value, dict):
            value = value.get("id", value.get("email"))
        if isinstance(value, int) and not isinstance(value, bool) and value in self.by_id:
            return value
        if isinstance(value, str) and value.lower() in self.by_email:
            return self.by_email[value.lower()]
        raise ApplicationError(
            f"completed_by {value!r} is not a member of this organization.", field=field, code="unknown_user"
        )


@dataclass
class _CheckedRows:
    tasks: list[tuple]  # (data_text, meta_text, is_labeled, total, cancelled, predictions)
    annotations: list[tuple]  # (task position, author id, result_text, was_cancelled, ground_truth, lead_time)
    predictions: list[tuple]  # (task position, model_version, result_text, score)


def _check_items(
    items: Iterable[TaskItem],
    *,
    schema: LabelSchema,
    project: Project,
    user: User,
    progress: Callable[[int], None] | None,
    start: int = 0,
    authors: "_AuthorResolver | None" = None,
    results: ResultValidator | None = None,
) -> _CheckedRows:
    # start: the position of the first item in the whole import, when items are one batch of it.
    authors = authors or _AuthorResolver(project, user)
    results = results or ResultValidator(schema)
    overlap = project.maximum_annotations
    checked = _CheckedRows(tasks=[], annotations=[], predictions=[])
    for position, item in enumerate(items, start=start):
        where = f"tasks[{position}]"
        validate_task_data(schema, item.data, field=f"{where}.data")
        total = cancelled = 0
        for index, annotation in enumerate(item.annotations):
            field = f"{where}.annotations[{index}]"
            if not isinstance(annotation, dict):
                raise ApplicationError("Each annotation must be a JSON object.", field=field)
            result = annotation.get("result", [])
            result_text = _json_text(result, field=f"{field}.result")
            results.validate(result, item.data, field=field, text=result_text)
            was_cancelled = validation.flag(
                annotation.get("was_cancelled"), field=f"{field}.was_cancelled", default=False
            )
            checked.annotations.append(
                (
                    position,
                    authors.resolve(annotation.get("completed_by"), field=f"{field}.completed_by"),
                    result_text,
                    was_cancelled,
                    validation.flag(annotation.get("ground_truth"), field=f"{field}.ground_truth", default=False),
                    validation.lead_time(annotation.get("lead_time"), field=f"{field}.lead_time"),
                )
            )
            cancelled += was_cancelled
            total += not was_cancelled
        for index, prediction in enumerate(item.predictions):
            field = f"{where}.predictions[{index}]"
            if not isinstance(prediction, dict):
                raise ApplicationError("Each prediction must be a JSON object.", field=field)
            result = prediction.get("result", [])
            result_text = _json_text(result, field=f"{field}.result")
            results.validate(result, item.data, field=field, text=result_text)
            checked.predictions.append(
                (
                    position,
                    clean_model_version(prediction.get("model_version"), field=f"{field}.model_version"),
                    result_text,
                    clean_score(prediction.get("score"), field=f"{field}.score"),
                )
            )
        checked.tasks.append(
            (
                _json_text(item.data, field=f"{where}.data"),
                _json_text(item.meta, field=f"{where}.meta") if item.meta else "{}",
                total >= overlap,
                total,
                cancelled,
                len(item.predictions),
            )
        )
        if progress is not None and position and position % PROGRESS_EVERY_ROWS == 0:
            progress(position)
    return checked


def tasks_import(
    *,
    project: Project,
    user: User,
    items: list[TaskItem],
    import_job: ImportJob | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    started = time.perf_counter()
    if len(items) > settings.TESSERA_MAX_TASKS_PER_IMPORT:
        raise ApplicationError(
            f"The import holds {len(items)} tasks; the limit is {settings.TESSERA_MAX_TASKS_PER_IMPORT}.",
            field="file",
            code="too_many_tasks",
        )
    schema = project_schema(project)
    with gc_paused():
        checked = _check_items(items, schema=schema, project=project, user=user, progress=progress)
    now = timezone.now()
    job_id = import_job.pk if import_job else None
    with transaction.atomic():
        if import_job is not None and not _still_ours(import_job):
            return ImportCounts(duration=time.perf_counter() - started)
        locked = Project.objects.select_for_update().get(pk=project.pk)
        first_inner_id = locked.task_counter + 1
        bulk_insert(
            Task._meta.db_table,
            ("project_id", "data", "meta", "inner_id", "is_labeled", "total_annotations",
             "cancelled_annotations", "total_predictions", "created_at", "updated_at"),
            (
                (project.pk, data, meta, first_inner_id + position, is_labeled, total, cancelled, predictions, now, now)
                for position, (data, meta, is_labeled, total, cancelled, predictions) in enumerate(checked.tasks)
            ),
        )  # fmt: skip
        task_ids = _task_ids_by_position(project.pk, first_inner_id, len(checked.tasks))
        bulk_insert(
            Annotation._meta.db_table,
            ("task_id", "project_id", "completed_by_id", "result", "was_cancelled", "ground_truth",
             "lead_time", "import_job_id", "skip_reason", "created_at", "updated_at"),
            (
                (task_ids[position], project.pk, author, result, was_cancelled, ground_truth, lead_time, job_id, "",
                 now, now)
                for position, author, result, was_cancelled, ground_truth, lead_time in checked.annotations
            ),
        )  # fmt: skip
        bulk_insert(
            Prediction._meta.db_table,
            ("task_id", "project_id", "model_version", "result", "score", "import_job_id", "created_at", "updated_at"),
            (
                (task_ids[position], project.pk, model_version, result, score, job_id, now, now)
                for position, model_version, result, score in checked.predictions
            ),
        )
        count = len(checked.tasks)
        Project.objects.filter(pk=project.pk).update(
            task_counter=locked.task_counter + count,
            task_count=locked.task_count + count,
            annotation_total=locked.annotation_total + sum(row[3] for row in checked.tasks),
            prediction_total=locked.prediction_total + len(checked.predictions),
        )
        counts = ImportCounts(
            task_count=count,
            annotation_count=len(checked.annotations),
            prediction_count=len(checked.predictions),
            task_ids=task_ids,
        )
        if import_job is not None:
            # Completing the job in the same transaction as the rows makes a re-run
            # after a crash a no-op instead of a second copy of the tasks.
            ImportJob.objects.filter(pk=import_job.pk).update(
                state=JobState.COMPLETED,
                rows_done=count,
                first_inner_id=first_inner_id,
                finished_at=timezone.now(),
                error=None,
                task_count=counts.task_count,
                annotation_count=counts.annotation_count,
                prediction_count=counts.prediction_count,
            )
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="tasks.import",
            obj=project,
            details={**counts.as_dict(), "import_job": job_id},
        )
    counts.duration = time.perf_counter() - started
    return counts


def _still_ours(import_job: ImportJob) -> bool:
    """Lock the job row; a second delivery of the same job finds it completed and writes nothing."""
    state = ImportJob.objects.select_for_update().filter(pk=import_job.pk).values_list("state", flat=True).first()
    return state == JobState.IN_PROGRESS


def _task_ids_by_position(project_id: int, first_inner_id: int, count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id" FROM "{Task._meta.db_table}" WHERE "project_id" = %s AND "inner_id" >= %s '
            'ORDER BY "inner_id"',
            [project_id, first_inner_id],
        )
        return [row[0] for row in cursor.fetchall()]


# A streamed import checks and writes this many rows at a time.
STREAM_BATCH_ROWS = 2_000
# Checked rows of a streamed import are kept for the write (one read of the file) while their JSON
# text stays under this many characters; a larger upload is read a second time to write it, so
# that the worker's memory stays bounded whatever the file's size.
STREAM_KEEP_CHARS = 64 * 1024 * 1024


def _batches(items: Iterator[TaskItem]) -> Iterator[list[TaskItem]]:
    while batch := list(itertools.islice(items, STREAM_BATCH_ROWS)):
        yield batch


def _checked_chars(checked: _CheckedRows) -> int:
    return (
        sum(len(row[0]) + len(row[1]) for row in checked.tasks)
        + sum(len(row[2]) for row in checked.annotations)
        + sum(len(row[2]) for row in checked.predictions)
    )


def tasks_import_streamed(
    *,
    project: Project,
    user: User,
    open_items: Callable[[], Iterator[TaskItem]],
    import_job: ImportJob,
    lease: Lease,
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    """A background import of any size in bounded memory, with the guarantees of tasks_import.

    First every row is read and checked, in batches, renewing the job's lease as it goes; then,
    in one transaction, the rows are written in batches (from the checked rows kept, or read and
    checked again when the upload was too large to keep them). A bad row anywhere fails the
    import before anything is written. ``open_items`` reads the upload from its start each time.
    """
    started = time.perf_counter()
    schema = project_schema(project)
    authors = _AuthorResolver(project, user)
    results = ResultValidator(schema)

    def checked_batches(*, report: Callable[[int], None] | None) -> Iterator[tuple[int, _CheckedRows]]:
        position = 0
        for batch in _batches(open_items()):
            checked = _check_items(
                batch, schema=schema, project=project, user=user, progress=report, start=position,
                authors=authors, results=results,
            )  # fmt: skip
            yield position, checked
            position += len(batch)
            lease.renew()

    kept: list[tuple[int, _CheckedRows]] | None = []
    kept_chars = 0
    count = 0
    with gc_paused():
        for position, checked in checked_batches(report=progress):
            count = position + len(checked.tasks)
            if kept is not None:
                kept_chars += _checked_chars(checked)
                if kept_chars <= STREAM_KEEP_CHARS:
                    kept.append((position, checked))
                else:
                    kept = None
    now = timezone.now()
    with transaction.atomic():
        # The job's row stays locked until the commit: the reaper (SKIP LOCKED) and a second
        # delivery wait or pass over it, however long the writes take, so the lease need not
        # be renewed from inside this transaction.
        lease.hold()
        locked = Project.objects.select_for_update().get(pk=project.pk)
        first_inner_id = locked.task_counter + 1
        annotation_total = annotation_count = prediction_count = 0
        written = 0
        with gc_paused():
            for position, checked in kept if kept is not None else checked_batches(report=None):
                lease.check_time()
                _write_batch(project, checked, first_inner_id=first_inner_id, start=position, now=now,
                             job_id=import_job.pk)  # fmt: skip
                written = position + len(checked.tasks)
                annotation_total += sum(row[3] for row in checked.tasks)
                annotation_count += len(checked.annotations)
                prediction_count += len(checked.predictions)
        if written != count:
            # The upload changed between the two reads: nothing of it is kept.
            raise ApplicationError("The stored upload changed while it was imported.", field="file", code="changed")
        Project.objects.filter(pk=project.pk).update(
            task_counter=locked.task_counter + count,
            task_count=locked.task_count + count,
            annotation_total=locked.annotation_total + annotation_total,
            prediction_total=locked.prediction_total + prediction_count,
        )
        counts = ImportCounts(task_count=count, annotation_count=annotation_count, prediction_count=prediction_count)
        lease.complete(
            rows_done=count,
            first_inner_id=first_inner_id,
            task_count=count,
            annotation_count=annotation_count,
            prediction_count=prediction_count,
        )
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="tasks.import",
            obj=project,
            details={**counts.as_dict(), "import_job": import_job.pk},
        )
    counts.duration = time.perf_counter() - started
    return counts


def _write_batch(project: Project, checked: _CheckedRows, *, first_inner_id: int, start: int, now, job_id: int) -> None:
    first = first_inner_id + start
    bulk_insert(
        Task._meta.db_table,
        ("project_id", "data", "meta", "inner_id", "is_labeled", "total_annotations",
         "cancelled_annotations", "total_predictions", "created_at", "updated_at"),
        (
            (project.pk, data, meta, first + offset, is_labeled, total, cancelled, predictions, now, now)
            for offset, (data, meta, is_labeled, total, cancelled, predictions) in enumerate(checked.tasks)
        ),
    )  # fmt: skip
    if not checked.annotations and not checked.predictions:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id" FROM "{Task._meta.db_table}" WHERE "project_id" = %s AND "inner_id" >= %s '
            'AND "inner_id" < %s ORDER BY "inner_id"',
            [project.pk, first, first + len(checked.tasks)],
        )
        task_ids = [row[0] for row in cursor.fetchall()]
    bulk_insert(
        Annotation._meta.db_table,
        ("task_id", "project_id", "completed_by_id", "result", "was_cancelled", "ground_truth",
         "lead_time", "import_job_id", "skip_reason", "created_at", "updated_at"),
        (
            (task_ids[position - start], project.pk, author, result, was_cancelled, ground_truth, lead_time, job_id,
             "", now, now)
            for position, author, result, was_cancelled, ground_truth, lead_time in checked.annotations
        ),
    )  # fmt: skip
    bulk_insert(
        Prediction._meta.db_table,
        ("task_id", "project_id", "model_version", "result", "score", "import_job_id", "created_at", "updated_at"),
        (
            (task_ids[position - start], project.pk, model_version, result, score, job_id, now, now)
            for position, model_version, result, score in checked.predictions
        ),
    )
