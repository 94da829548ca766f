"""Task import: check every item, then write tasks, annotations and predictions set-based in one transaction.

Nothing is written unless every row passes: checking happens before the
transaction opens, and the writes share one transaction, so a failure at any
point leaves the project as it was (less the inner_id range it reserved).
The range is reserved in a short transaction of its own, so the write phase
does not hold the project's row: submits in the project do not wait for it.
"""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import c_make_encoder, encode_basestring

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation.bulk import bulk_insert
from annotation.importing.gc_pause import gc_paused
from annotation.importing.parsers import TaskItem
from annotation.label_config import LabelSchema
from annotation.models import Annotation, ImportJob, JobState, Prediction, Project, Task
from annotation.results import ResultValidator, validate_task_data
from annotation.services.checks import clean_model_version, clean_score
from annotation.services.projects import project_schema
from tessera.errors import ApplicationError, NotFound
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


def _compact_encoder() -> Callable[[object], str]:
    """Compact JSON text, as json.dumps(ensure_ascii=False, separators=(",", ":")) writes it.

    json.dumps sets up a new encoder on every call, and even a kept JSONEncoder builds its C
    encoder anew in each encode(): 2 to 4 µs of a 1 µs job, on two or three values per task.
    Building the C encoder once makes encoding the data and results of a million tasks take
    a second less. Values come from parsed JSON, so they cannot hold cycles and need no
    circular-reference markers.
    """
    fallback = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    if c_make_encoder is None:
        return fallback

    def default(value):
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode_chunks = c_make_encoder(None, default, encode_basestring, None, ":", ",", False, False, True)

    def encode(value) -> str:
        return "".join(encode_chunks(value, 0))

    return encode


_encode = _compact_encoder()


# A NUL is encoded \u0000 after an even number of backslashes; after an odd number, the text held a
# backslash followed by "u0000", which is fine.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _no_nul(text: str, *, field: str) -> str:
    # PostgreSQL's jsonb cannot hold U+0000; refuse it on every backend alike.
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise ApplicationError("Text may not contain the NUL character (\\u0000).", field=field, code="nul_character")
    return text


def _json_text(value, *, field: str) -> str:
    return _no_nul(_encode(value), field=field)


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


def _number_or_none(value, *, field: str, low: float | None = None, high: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApplicationError("must be a number.", field=field)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ApplicationError(f"must be between {low} and {high}.", field=field)
    return float(value)


def _bool(value, *, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApplicationError("must be true or false.", field=field)
    return value


@dataclass
class _CheckedRows:
    tasks: list[tuple]  # (data_text, meta_text, is_labeled, total, cancelled, predictions)
    annotations: list[tuple]  # (task position, author id, result_text, was_cancelled, ground_truth, lead_time)
    predictions: list[tuple]  # (task position, model_version, result_text, score)


def _check_items(
    items: list[TaskItem],
    *,
    schema: LabelSchema,
    project: Project,
    user: User,
    progress: Callable[[int], None] | None,
) -> _CheckedRows:
    authors = _AuthorResolver(project, user)
    results = ResultValidator(schema, encode=_encode)
    overlap = project.maximum_annotations
    checked = _CheckedRows(tasks=[], annotations=[], predictions=[])
    for position, item in enumerate(items):
        where = f"tasks[{position}]"
        validate_task_data(schema, item.data, field=f"{where}.data")
        total = cancelled = 0
        for index, annotation in enumerate(item.annotations):
            field = f"{where}.annotations[{index}]"
            if not isinstance(annotation, dict):
                raise ApplicationError("Each annotation must be a JSON object.", field=field)
            result = annotation.get("result", [])
            result_text = _encode(result)
            results.validate(result, item.data, field=field, text=result_text)
            was_cancelled = _bool(annotation.get("was_cancelled"), field=f"{field}.was_cancelled")
            checked.annotations.append(
                (
                    position,
                    authors.resolve(annotation.get("completed_by"), field=f"{field}.completed_by"),
                    _no_nul(result_text, field=f"{field}.result"),
                    was_cancelled,
                    _bool(annotation.get("ground_truth"), field=f"{field}.ground_truth"),
                    _number_or_none(annotation.get("lead_time"), field=f"{field}.lead_time", low=0),
                )
            )
            cancelled += was_cancelled
            total += not was_cancelled
        for index, prediction in enumerate(item.predictions):
            field = f"{where}.predictions[{index}]"
            if not isinstance(prediction, dict):
                raise ApplicationError("Each prediction must be a JSON object.", field=field)
            result = prediction.get("result", [])
            result_text = _encode(result)
            results.validate(result, item.data, field=field, text=result_text)
            checked.predictions.append(
                (
                    position,
                    clean_model_version(prediction.get("model_version"), field=f"{field}.model_version"),
                    _no_nul(result_text, field=f"{field}.result"),
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
    # The collector stays paused through the writes as well: reading back 50,000 task ids allocates
    # enough tuples to set off a full collection over every parsed item still alive (0.9 s a batch).
    with gc_paused():
        checked = _check_items(items, schema=schema, project=project, user=user, progress=progress)
        return _write(project=project, user=user, checked=checked, import_job=import_job, started=started)


def _write(
    *, project: Project, user: User, checked: _CheckedRows, import_job: ImportJob | None, started: float
) -> ImportCounts:
    now = timezone.now()
    job_id = import_job.pk if import_job else None
    count = len(checked.tasks)
    if import_job is None:
        first_inner_id = _reserve_inner_ids(project.pk, count)
    else:
        first_inner_id = _reserve_for_job(import_job, project.pk, count)
        if first_inner_id is None:
            # A second delivery of a finished job: nothing to write.
            return ImportCounts(duration=time.perf_counter() - started)
    labeled = sum(1 for row in checked.tasks if row[2])
    annotated = sum(1 for row in checked.tasks if row[3])
    with transaction.atomic():
        if import_job is not None and not _still_ours(import_job):
            return ImportCounts(duration=time.perf_counter() - started)
        # The rows are written without the project's row lock: submits, /next and other imports of
        # the project go on meanwhile. Only the totals at the end touch the project row, for the
        # moment between that UPDATE and the commit.
        bulk_insert(
            Task._meta.db_table,
            ("project_id", "data", "meta", "inner_id", "is_labeled", "total_annotations",
             "cancelled_annotations", "total_predictions", "created_at", "updated_at"),
            (
                (project.pk, data, meta, first_inner_id + position, is_labeled, total, cancelled, predictions, now, now)
                for position, (data, meta, is_labeled, total, cancelled, predictions) in enumerate(checked.tasks)
            ),
        )  # fmt: skip
        task_ids = _task_ids_by_position(project.pk, first_inner_id, count)
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
        # Last statement before the commit: the project's row lock is held for one round trip.
        # The layout version moves because tasks appear above a range another import may still hold.
        Project.objects.filter(pk=project.pk).update(
            task_count=F("task_count") + count,
            annotation_total=F("annotation_total") + sum(row[3] for row in checked.tasks),
            prediction_total=F("prediction_total") + len(checked.predictions),
            labeled_task_count=F("labeled_task_count") + labeled,
            annotated_task_count=F("annotated_task_count") + annotated,
            task_layout_version=F("task_layout_version") + 1,
        )
    counts.duration = time.perf_counter() - started
    return counts


def _still_ours(import_job: ImportJob) -> bool:
    """Lock the job row; a second delivery of the same job waits for the first to commit, then finds it
    completed and writes nothing."""
    state = ImportJob.objects.select_for_update().filter(pk=import_job.pk).values_list("state", flat=True).first()
    return state == JobState.IN_PROGRESS


def _reserve_for_job(import_job: ImportJob, project_id: int, count: int) -> int | None:
    """The job's inner_id range: reserved once and kept on the job row, so that a second delivery, or a
    retry after a failed write phase (whose rows rolled back), writes into the same range instead of
    leaving a gap. None if the job is no longer in progress."""
    with transaction.atomic():
        row = (
            ImportJob.objects.select_for_update()
            .filter(pk=import_job.pk)
            .values_list("state", "first_inner_id")
            .first()
        )
        if row is None or row[0] != JobState.IN_PROGRESS:
            return None
        if row[1] is not None:
            return row[1]
        first_inner_id = _reserve_inner_ids(project_id, count)
        ImportJob.objects.filter(pk=import_job.pk).update(first_inner_id=first_inner_id)
        return first_inner_id


_RESERVE_SQL = 'UPDATE "{project}" SET "task_counter" = "task_counter" + %s WHERE "id" = %s RETURNING "task_counter"'


def _reserve_inner_ids(project_id: int, count: int) -> int:
    """Take the next ``count`` inner ids in a transaction of their own and return the first.

    The project's row is locked only for this one UPDATE, not for the import's write phase. An import
    that fails afterwards leaves its range unused: a gap in inner_id, which task pages allow for.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL.format(project=Project._meta.db_table), [count, project_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound("Project not found.")
    return row[0] - count + 1


def _task_ids_by_position(project_id: int, first_inner_id: int, count: int) -> list[int]:
    if not count:
        return []
    with connection.cursor() as cursor:
        # Bounded above as well: another import may have written the range after ours meanwhile.
        cursor.execute(
            f'SELECT "id" FROM "{Task._meta.db_table}" WHERE "project_id" = %s AND "inner_id" >= %s '
            'AND "inner_id" < %s ORDER BY "inner_id"',
            [project_id, first_inner_id, first_inner_id + count],
        )
        return [row[0] for row in cursor.fetchall()]
