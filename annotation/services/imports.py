"""Task import: check every item, then write tasks, annotations and predictions set-based in one transaction.

Nothing is written unless every row passes: checking happens before the
transaction opens, and the writes share one transaction, so a failure at any
point leaves the project as it was (less the inner_id range it reserved).
The range is reserved in a short transaction of its own, so the write phase
does not hold the project's row: submits in the project do not wait for it.
"""

import itertools
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.bulk import COPY_BOOL, COPY_NULL, bulk_insert, copy_text
from annotation.importing.gc_pause import gc_paused
from annotation.importing.parsers import TaskItem
from annotation.importing.read_ahead import read_ahead
from annotation.importing.spool import CheckedSpool
from annotation.label_config import LabelSchema
from annotation.models import Annotation, ImportJob, Prediction, Project, Task, TaskState
from annotation.result_labels import labels_document, result_labels
from annotation.results import ResultValidator, validate_task_data
from annotation.services import gold
from annotation.services.activity_totals import Activity, activity_imported, activity_write
from annotation.services.checks import clean_model_version, clean_score
from annotation.services.counters import project_hold
from annotation.services.leases import Lease
from annotation.services.projects import project_schema
from annotation.services.quality import tasks_quality_refresh
from annotation.services.search_index import search_index_enqueue, search_index_hold
from annotation.services.states import imported_state, imported_states_sql
from tessera import validation
from tessera.adapters.c_json_encoder import compact_encoder
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
            _("completed_by %(value)r is not a member of this organization.") % {"value": value},
            field=field,
            code="unknown_user",
        )


class _LabelsByShape:
    """Each answer's labels (``result_labels``) and their stored text (``Task.labels`` of a task with
    that one answer), kept per result shape: the options chosen are part of the shape (only region ids
    and span offsets and text are not), so results of one shape choose the same labels. Every result of
    a Label Studio export differs, but a few shapes cover them: the walk and the encoding run once a
    shape instead of once a row."""

    MAX_REMEMBERED = ResultValidator.MAX_REMEMBERED
    MAX_KEY_CHARS = ResultValidator.MAX_KEY_CHARS

    def __init__(self) -> None:
        self.by_shape: dict[bytes, tuple[dict[str, set[str]], str]] = {}

    def of(self, result, key: bytes | None) -> tuple[dict[str, set[str]], str]:
        """(labels by control, their stored text) of one submitted answer; callers must not change them."""
        entry = None if key is None else self.by_shape.get(key)
        if entry is None:
            found = result_labels(result)
            entry = (found, _encode(labels_document(found)) if found else "{}")
            if key is not None and len(key) <= self.MAX_KEY_CHARS:
                # Results all different in shape would only fill the dict: start over.
                if len(self.by_shape) >= self.MAX_REMEMBERED:
                    self.by_shape.clear()
                self.by_shape[key] = entry
        return entry


def _task_labels_text(answers: list[tuple[dict[str, set[str]], str]]) -> str:
    """Task.labels, as the annotation services keep it, from its submitted answers' ``_LabelsByShape``
    entries (most imports carry none, most labeled ones one answer a task)."""
    if not answers:
        return "{}"
    if len(answers) == 1:
        return answers[0][1]
    labels: dict[str, set[str]] = {}
    for found, _text in answers:
        for control, options in found.items():
            labels.setdefault(control, set()).update(options)
    return _encode(labels_document(labels)) if labels else "{}"


@dataclass
class _CheckedRows:
    tasks: list[tuple]  # (data_text, meta_text, is_labeled, total, cancelled, predictions, labels_text)
    annotations: list[
        tuple
    ]  # (task position, author id, result_text, was_cancelled, ground_truth, lead_time)
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
    labels_by_shape: _LabelsByShape | None = None,
) -> _CheckedRows:
    # start: the position of the first item in the whole import, when items are one batch of it.
    authors = authors or _AuthorResolver(project, user)
    results = results or ResultValidator(schema, encode=_encode)
    labels_by_shape = labels_by_shape or _LabelsByShape()
    overlap = project.maximum_annotations
    checked = _CheckedRows(tasks=[], annotations=[], predictions=[])
    default_author = authors.default_id
    lead_time_max = validation.LEAD_TIME_MAX_SECONDS
    for position, item in enumerate(items, start=start):
        where = f"tasks[{position}]"
        validate_task_data(schema, item.data, field=f"{where}.data")
        total = cancelled = 0
        # The common values of each field take a fast path; anything else goes through the full check,
        # which names the field: field names are built only then (a few f-strings a row add up).
        answers: list[tuple[dict[str, set[str]], str]] = []
        for index, annotation in enumerate(item.annotations):
            field = f"{where}.annotations[{index}]"
            if not isinstance(annotation, dict):
                raise ApplicationError(_("Each annotation must be a JSON object."), field=field)
            result = annotation.get("result", [])
            result_text = _json_text(result, field=f"{field}.result")
            shape = results.validate(result, item.data, field=field, text=result_text)
            # In the order the fields were always checked, so that a row with several faults names the same one.
            was_cancelled = annotation.get("was_cancelled", False)
            if type(was_cancelled) is not bool:
                was_cancelled = validation.flag(was_cancelled, field=f"{field}.was_cancelled", default=False)
            author = annotation.get("completed_by")
            author = (
                default_author if author is None else authors.resolve(author, field=f"{field}.completed_by")
            )
            ground_truth = annotation.get("ground_truth", False)
            if type(ground_truth) is not bool:
                ground_truth = validation.flag(ground_truth, field=f"{field}.ground_truth", default=False)
            lead_time = annotation.get("lead_time")
            # NaN fails the comparison and takes the full check, which refuses it.
            if lead_time is not None and not (type(lead_time) is float and 0 <= lead_time <= lead_time_max):
                lead_time = validation.lead_time(lead_time, field=f"{field}.lead_time")
            checked.annotations.append(
                (position, author, result_text, was_cancelled, ground_truth, lead_time)
            )
            cancelled += was_cancelled
            total += not was_cancelled
            if not was_cancelled:
                answers.append(labels_by_shape.of(result, shape))
        for index, prediction in enumerate(item.predictions):
            field = f"{where}.predictions[{index}]"
            if not isinstance(prediction, dict):
                raise ApplicationError(_("Each prediction must be a JSON object."), field=field)
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
                _task_labels_text(answers),
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
    progress: Callable[[int], None] | None = None,
) -> ImportCounts:
    started = time.perf_counter()
    if len(items) > settings.TESSERA_MAX_TASKS_PER_IMPORT:
        raise ApplicationError(
            _("The import holds %(count)s tasks; the limit is %(limit)s.")
            % {
                "count": len(items),
                "limit": settings.TESSERA_MAX_TASKS_PER_IMPORT,
            },
            field="file",
            code="too_many_tasks",
        )
    schema = project_schema(project)
    authors = _AuthorResolver(project, user)
    results = ResultValidator(schema, encode=_encode)
    labels_by_shape = _LabelsByShape()

    def checked_batches() -> Generator[tuple[int, _CheckedRows], None, None]:
        for start in range(0, len(items), IMPORT_WRITE_BATCH_ROWS):
            batch = items[start : start + IMPORT_WRITE_BATCH_ROWS]
            yield start, _check_items(
                batch, schema=schema, project=project, user=user, progress=progress, start=start,
                authors=authors, results=results, labels_by_shape=labels_by_shape,
            )  # fmt: skip

    # The collector stays paused through the writes as well: reading back 50,000 task ids allocates
    # enough tuples to set off a full collection over every parsed item still alive (0.9 s a batch).
    with gc_paused():
        # Past one batch the checks run a batch ahead in a thread (importing/read_ahead.py), beside the
        # database's work on the batch before; they touch no database.
        batches = read_ahead(checked_batches()) if len(items) > IMPORT_WRITE_BATCH_ROWS else checked_batches()
        try:
            return _write(project=project, user=user, batches=batches, count=len(items), started=started)
        finally:
            batches.close()


# A synchronous import writes its checked rows this many at a time, the next batch checked meanwhile.
IMPORT_WRITE_BATCH_ROWS = 5_000


def _write(
    *,
    project: Project,
    user: User,
    batches: Generator[tuple[int, _CheckedRows], None, None],
    count: int,
    started: float,
) -> ImportCounts:
    """A synchronous import's one transaction (background jobs write with tasks_import_streamed).

    The first batch is checked before the inner_id range is reserved; a bad row of a later batch (or
    any failure) rolls the writes back and gives the range back (_release_inner_ids), so a refused
    import leaves nothing behind."""
    now = timezone.now()
    first = next(batches, None)
    first_inner_id = _reserve_inner_ids(project.pk, count)
    try:
        return _write_reserved(project=project, user=user, batches=batches, first=first, count=count,
                               first_inner_id=first_inner_id, now=now, started=started)  # fmt: skip
    except BaseException:
        _release_inner_ids(project.pk, first_inner_id, count)
        raise


def _write_reserved(
    *,
    project: Project,
    user: User,
    batches: Iterator[tuple[int, _CheckedRows]],
    first: tuple[int, _CheckedRows] | None,
    count: int,
    first_inner_id: int,
    now,
    started: float,
) -> ImportCounts:
    task_ids: list[int] = []
    annotation_total = annotation_count = prediction_count = labeled = annotated = 0
    with transaction.atomic():
        # The rows are written without the project's row lock: submits, /next and other imports of
        # the project go on meanwhile. Only the totals at the end touch the project row, for the
        # moment between that UPDATE and the commit. project_hold's shared lock makes a project
        # delete wait for the import (or the import find the project gone, 404), not fail its commit.
        project_hold(project.pk)
        # No search rows here (the trigram index cost ~65 µs a task): a job writes them after the
        # commit; until then the data table scans these tasks. The lock orders this write phase
        # with the job's watermark (annotation/services/search_index.py).
        search_index_hold(project.pk)
        search_index_enqueue(project.pk)
        # Each COPY's foreign keys are checked when it ends, while the next batch is checked, instead of
        # all of them at commit, after the last; deferred again after the batches (Django declares every
        # key INITIALLY DEFERRED), so a caller's enclosing transaction goes on as it began.
        _constraints(immediate=True)
        activity = Activity()
        for position, checked in itertools.chain([first] if first else [], batches):
            task_ids += _write_batch(project, checked, first_inner_id=first_inner_id, start=position, now=now,
                                     job_id=None, activity=activity, want_ids=True)  # fmt: skip
            annotation_total += sum(row[3] for row in checked.tasks)
            labeled += sum(1 for row in checked.tasks if row[2])
            annotated += sum(1 for row in checked.tasks if row[3])
            annotation_count += len(checked.annotations)
            prediction_count += len(checked.predictions)
        _constraints(immediate=False)
        _prelabel_after_import(project.pk, first_inner_id, count)
        counts = ImportCounts(
            task_count=count,
            annotation_count=annotation_count,
            prediction_count=prediction_count,
            task_ids=task_ids,
        )
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="tasks.import",
            obj=project,
            details={**counts.as_dict(), "import_job": None},
        )
        _project_totals_after_import(
            project.pk,
            tasks=count,
            annotations=annotation_total,
            predictions=prediction_count,
            labeled=labeled,
            annotated=annotated,
            states=activity_write(project.pk, activity, with_project=False),
        )
    counts.duration = time.perf_counter() - started
    return counts


def _constraints(*, immediate: bool) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS ALL {'IMMEDIATE' if immediate else 'DEFERRED'}")


def _prelabel_after_import(project_id: int, first_inner_id: int, count: int) -> None:
    """Pre-labelers that pre-label imports get a job over these tasks once the import commits."""
    from training.services.prelabel_jobs import prelabel_after_import

    prelabel_after_import(project_id=project_id, first_inner_id=first_inner_id, count=count)


def _project_totals_after_import(
    project_id: int,
    *,
    tasks: int,
    annotations: int,
    predictions: int,
    labeled: int,
    annotated: int,
    states: dict[str, int],
) -> None:
    """Last statement before an import's commit, so the project's row lock is held for one round trip.
    Increments, not values read earlier: submits and other imports change the same totals meanwhile.
    The layout version moves because tasks appear above a range another import may still hold."""
    Project.objects.filter(pk=project_id).update(
        task_count=F("task_count") + tasks,
        annotation_total=F("annotation_total") + annotations,
        prediction_total=F("prediction_total") + predictions,
        labeled_task_count=F("labeled_task_count") + labeled,
        annotated_task_count=F("annotated_task_count") + annotated,
        task_layout_version=F("task_layout_version") + 1,
        **{name: F(name) + amount for name, amount in states.items() if amount},
    )


def _reserve_for_job(lease: Lease, project_id: int, count: int) -> int:
    """The job's inner_id range: reserved once, in a short transaction of its own while the job is still
    this worker's (LeaseLost otherwise), and kept on the job row, so that a retry after a failed write
    phase (whose rows rolled back) writes into the same range instead of leaving a gap."""
    with transaction.atomic():
        lease.hold()
        first_inner_id = (
            ImportJob.objects.filter(pk=lease.job_id).values_list("first_inner_id", flat=True).get()
        )
        if first_inner_id is None:
            first_inner_id = _reserve_inner_ids(project_id, count)
            ImportJob.objects.filter(pk=lease.job_id).update(first_inner_id=first_inner_id)
        return first_inner_id


_RESERVE_SQL = (
    'UPDATE "{project}" SET "task_counter" = "task_counter" + %s WHERE "id" = %s RETURNING "task_counter"'
)


def _reserve_inner_ids(project_id: int, count: int) -> int:
    """Take the next ``count`` inner ids in a transaction of their own and return the first.

    The project's row is locked only for this one UPDATE, not for the import's write phase. An import
    that fails afterwards leaves its range unused: a gap in inner_id, which task pages allow for.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL.format(project=Project._meta.db_table), [count, project_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("Project not found."))
    return row[0] - count + 1


_RELEASE_SQL = (
    'UPDATE "{project}" SET "task_counter" = "task_counter" - %s WHERE "id" = %s AND "task_counter" = %s'
)


def _release_inner_ids(project_id: int, first_inner_id: int, count: int) -> None:
    """Give back the range of an import that failed, if no import has reserved after it meanwhile
    (then the range stays a gap, which task pages allow for)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _RELEASE_SQL.format(project=Project._meta.db_table),
            [count, project_id, first_inner_id + count - 1],
        )


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


# A streamed import checks and writes this many rows at a time.
STREAM_BATCH_ROWS = 2_000
# Checked rows of a streamed import are kept in memory for the write while their JSON text stays
# under this many characters; past it they are spooled to a temporary file (importing/spool.py),
# so that the worker's memory stays bounded whatever the file's size.
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

    First every row is read and checked, in batches, renewing the job's lease as it goes, and the
    checked rows are kept (in memory, or spooled to a temporary file past STREAM_KEEP_CHARS); then,
    in one transaction, they are written in batches. A bad row anywhere fails the import before
    anything is written. ``open_items`` reads the upload from its start.
    """
    with CheckedSpool(keep_chars=STREAM_KEEP_CHARS, directory=Path(settings.TESSERA_IMPORT_DIR)) as spool:
        return _import_streamed(project=project, user=user, open_items=open_items, import_job=import_job,
                                lease=lease, progress=progress, spool=spool)  # fmt: skip


def _import_streamed(
    *,
    project: Project,
    user: User,
    open_items: Callable[[], Iterator[TaskItem]],
    import_job: ImportJob,
    lease: Lease,
    progress: Callable[[int], None] | None,
    spool: CheckedSpool,
) -> ImportCounts:
    started = time.perf_counter()
    schema = project_schema(project)
    authors = _AuthorResolver(project, user)
    results = ResultValidator(schema, encode=_encode)
    labels_by_shape = _LabelsByShape()
    count = 0
    with gc_paused():
        for batch in _batches(open_items()):
            checked = _check_items(
                batch, schema=schema, project=project, user=user, progress=progress, start=count,
                authors=authors, results=results, labels_by_shape=labels_by_shape,
            )  # fmt: skip
            spool.add((count, (checked.tasks, checked.annotations, checked.predictions)),
                      chars=_checked_chars(checked))  # fmt: skip
            count += len(batch)
            lease.renew()
    # The inner_id range is reserved in a short transaction of its own and kept on the job row, so the
    # project's row is not held through the write phase, and a retry writes into the same range.
    first_inner_id = _reserve_for_job(lease, project.pk, count)
    now = timezone.now()
    with transaction.atomic():
        # The job's row stays locked until the commit: the reaper (SKIP LOCKED) and a second
        # delivery wait or pass over it, however long the writes take, so the lease need not
        # be renewed from inside this transaction.
        lease.hold()
        project_hold(project.pk)
        # As in _write: search rows are written by a job after the commit.
        search_index_hold(project.pk)
        search_index_enqueue(project.pk)
        annotation_total = annotation_count = prediction_count = labeled = annotated = 0
        activity = Activity()
        with gc_paused():
            for position, rows in spool:
                checked = _CheckedRows(*rows)
                lease.check_time()
                _write_batch(project, checked, first_inner_id=first_inner_id, start=position, now=now,
                             job_id=import_job.pk, activity=activity)  # fmt: skip
                annotation_total += sum(row[3] for row in checked.tasks)
                labeled += sum(1 for row in checked.tasks if row[2])
                annotated += sum(1 for row in checked.tasks if row[3])
                annotation_count += len(checked.annotations)
                prediction_count += len(checked.predictions)
        _prelabel_after_import(project.pk, first_inner_id, count)
        _project_totals_after_import(
            project.pk,
            tasks=count,
            annotations=annotation_total,
            predictions=prediction_count,
            labeled=labeled,
            annotated=annotated,
            states=activity_write(project.pk, activity, with_project=False),
        )
        counts = ImportCounts(
            task_count=count, annotation_count=annotation_count, prediction_count=prediction_count
        )
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


def _write_batch(
    project: Project,
    checked: _CheckedRows,
    *,
    first_inner_id: int,
    start: int,
    now,
    job_id: int | None,
    activity: Activity,
    want_ids: bool = False,
) -> list[int]:
    """Write one batch of checked rows at its place in the import's inner_id range; the task ids, when
    asked for or needed for the batch's annotations and predictions. What the batch adds to the
    dashboard's totals goes into ``activity``, written by the caller just before the project totals."""
    first = first_inner_id + start
    # Each task's state goes in its own row (annotation/services/states.py imported_state); the few
    # that depend on the task's id or agreement are written as labeled and decided by one UPDATE below.
    overlap, policy = project.maximum_annotations, project.review_policy
    states = {total: imported_state(submitted=total, overlap=overlap, policy=policy)
              for total in {row[3] for row in checked.tasks}}  # fmt: skip
    undecided = None in states.values()
    states = {total: TaskState.LABELED.value if state is None else state for total, state in states.items()}
    bulk_insert(
        Task._meta.db_table,
        ("data", "meta", "inner_id", "is_labeled", "total_annotations", "cancelled_annotations",
         "total_predictions", "labels", "state"),
        (
            (data, meta, first + offset, is_labeled, total, cancelled, predictions, labels, states[total])
            for offset, (data, meta, is_labeled, total, cancelled, predictions, labels) in enumerate(checked.tasks)
        ),
        constants={"project_id": project.pk, "created_at": now, "updated_at": now},
        copy_line=_task_copy_line,
    )  # fmt: skip
    if not checked.annotations and not checked.predictions and not want_ids:
        return []
    # The batch's tasks per state for the dashboard's totals (those the UPDATE below decides are read
    # back after it).
    decided: dict[str, list[int]] = {}
    for total, tasks in Counter(row[3] for row in checked.tasks).items():
        if total and (total < overlap or not undecided):
            counts = decided.setdefault(str(states[total]), [0, 0])
            counts[0] += tasks
            counts[1] += tasks * total
    task_ids = _task_ids_by_position(project.pk, first, len(checked.tasks))
    bulk_insert(
        Annotation._meta.db_table,
        ("task_id", "completed_by_id", "result", "was_cancelled", "ground_truth", "lead_time"),
        (
            (task_ids[position - start], author, result, was_cancelled, ground_truth, lead_time)
            for position, author, result, was_cancelled, ground_truth, lead_time in checked.annotations
        ),
        constants={"project_id": project.pk, "import_job_id": job_id, "skip_reason": "", "created_at": now,
                   "updated_at": now},
        copy_line=_annotation_copy_line,
    )  # fmt: skip
    # Agreement and consensus of the batch's tasks with two or more submitted annotations, set-based.
    tasks_quality_refresh(
        project=project,
        task_ids=[task_ids[offset] for offset, row in enumerate(checked.tasks) if row[3] >= 2],
    )
    bulk_insert(
        Prediction._meta.db_table,
        ("task_id", "model_version", "result", "score"),
        (
            (task_ids[position - start], model_version, result, score)
            for position, model_version, result, score in checked.predictions
        ),
        constants={"project_id": project.pk, "import_job_id": job_id, "created_at": now, "updated_at": now},
    )
    # Tasks imported with a ground-truth annotation are gold: one UPDATE for the batch, and the scores
    # of the answers imported beside it (rare; an import of plain labels skips this in one scan).
    gold_positions = sorted({row[0] for row in checked.annotations if row[4]})
    if gold_positions:
        gold.gold_imported(
            project=project, task_ids=[task_ids[position - start] for position in gold_positions]
        )
    if undecided:
        # Tasks at the overlap under the sample or low_agreement policy: labeled or in review by their
        # id or agreement (refreshed above), one set-based UPDATE over the batch's range.
        sql, params = imported_states_sql(project)
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, first, first + len(checked.tasks) - 1])
            cursor.execute(_STATES_SQL, [project.pk, first, first + len(checked.tasks) - 1, overlap])
            for state, tasks, submitted in cursor.fetchall():
                counts = decided.setdefault(state, [0, 0])
                counts[0] += tasks
                counts[1] += submitted
    activity_imported(activity, answers=checked.annotations, day=timezone.localdate(now),
                      tasks_by_state={state: (tasks, submitted) for state, (tasks, submitted) in decided.items()})  # fmt: skip
    return task_ids


# The states imported_states_sql decided, per state with the tasks' answers.
_STATES_SQL = f"""
SELECT "state", COUNT(*), SUM("total_annotations") FROM "{Task._meta.db_table}"
WHERE "project_id" = %s AND "inner_id" >= %s AND "inner_id" <= %s AND "total_annotations" >= %s GROUP BY "state"
"""


# COPY lines of the two tables a labeled import fills, one f-string a row: formatting value by value
# (a call and a type test each) cost about as much as the rest of the write phase's Python.
def _task_copy_line(row: tuple) -> str:
    data, meta, inner_id, is_labeled, total, cancelled, predictions, labels, state = row
    # state is one of TaskState's plain values: no character COPY would need escaped.
    return (
        f"{copy_text(data)}\t{copy_text(meta)}\t{inner_id}\t{COPY_BOOL[is_labeled]}\t{total}\t{cancelled}"
        f"\t{predictions}\t{copy_text(labels)}\t{state}"
    )


def _annotation_copy_line(row: tuple) -> str:
    task_id, author, result, was_cancelled, ground_truth, lead_time = row
    # lead_time is a float (validation.lead_time) or None; a float's str() is its shortest repr,
    # which PostgreSQL reads back as the same double.
    lead = COPY_NULL if lead_time is None else lead_time
    return f"{task_id}\t{author}\t{copy_text(result)}\t{COPY_BOOL[was_cancelled]}\t{COPY_BOOL[ground_truth]}\t{lead}"
