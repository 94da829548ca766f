"""Pre-labeling jobs: a row per run of a pre-labeler over a set of tasks, run by a worker on the
``prelabel`` queue (``training.tasks.prelabel_run_job``).

The worker owns the job through the lease in its row (``annotation/services/leases.py``, as imports
do) and walks the job's tasks in id order, a page of ids at a time, each page cut into batches of the
backend's ``batch_size``. Per batch: the tasks that already have this pre-labeler's prediction of this
model version are skipped (counted in ``skipped``), the others are predicted with no transaction
open (a model may take seconds), and then, in one transaction, the predictions are written with
``ON CONFLICT DO NOTHING ... RETURNING`` (the database's unique (task, pre-labeler, model version)
keeps a re-run from writing twice, and the returned rows say exactly which were new), the tasks'
``total_predictions`` and ``uncertainty`` and the project's ``prediction_total`` move by those rows
alone, and the job's counters and ``last_task_id`` move with them. So a worker killed anywhere leaves
either the whole batch or none of it, and the retry resumes after ``last_task_id``.

A batch that raises is tried again, up to TESSERA_PRELABEL_BATCH_TRIES times (each failed try counts
in ``errors``); then the job fails with the error recorded. ``cancel_requested`` is read between
batches. A learning backend fits first when the project's labels moved since its last fit
(``labeled_count`` differs from ``fitted_examples``) or when the job asks for a refit; the fit, like
each predict call, runs with a heartbeat thread renewing the lease, since it may outlast it.
"""

import contextlib
import json
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.models import JobState, Prediction, Project, Task
from annotation.results import ResultValidator
from annotation.selectors import task_query_limits, task_query_where
from annotation.services.counters import project_hold, project_totals_add
from annotation.services.leases import Lease, LeaseLost, cancel_mark, expired, requeue
from annotation.task_filters import TaskQuery, parse_filters, parse_selection
from tessera import validation
from tessera.errors import ApplicationError, Conflict
from tessera.models import User
from tessera.rows import db_datetime
from tessera.services import audit_record
from training.models import Prelabeler, PrelabelJob
from training.prelabelers.base import Backend, BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.examples import labeled_count, labeled_examples
from training.prelabelers.registry import backend_class
from training.services.prelabelers import backend_for

logger = logging.getLogger(__name__)

TASK = Task._meta.db_table
PREDICTION = Prediction._meta.db_table
# Task ids read per statement; each page is then predicted in batches of the backend's size.
PAGE_TASKS = 1000
RECENT_JOBS = 50
LIVE_STATES = (JobState.CREATED, JobState.IN_PROGRESS)
TASK_SCOPES = ("unlabeled", "all")


# ---- the tasks a job covers -----------------------------------------------------------------------


def _filter_query(body: object, *, field: str) -> TaskQuery:
    if not isinstance(body, dict):
        raise ApplicationError(
            _('%(field)s must be an object: {"filters": …, "selectedItems": …}.') % {"field": field},
            field=field,
            code="invalid_filter",
        )
    limits = task_query_limits()
    conjunction, conditions = parse_filters(body.get("filters"), field=f"{field}.filters", limits=limits)
    selection = parse_selection(body.get("selectedItems"), field=f"{field}.selectedItems", limits=limits)
    return TaskQuery(conjunction=conjunction, conditions=conditions, selection=selection)


def _task_ids(project: Project, value: list) -> list[int]:
    if not value:
        raise ApplicationError(_("tasks must name at least one task."), field="tasks")
    limit = settings.TESSERA_TASK_SELECTION_MAX_IDS
    if len(value) > limit:
        raise ApplicationError(
            _("tasks may hold at most %(limit)s ids; use a filter for more.") % {"limit": limit},
            field="tasks",
            code="too_many",
        )
    ids = sorted({validation.object_id(item, field=f"tasks[{index}]") for index, item in enumerate(value)})
    found: set[int] = set()
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        found.update(Task.objects.filter(project_id=project.pk, pk__in=chunk).values_list("pk", flat=True))
    missing = [task_id for task_id in ids if task_id not in found]
    if missing:
        raise ApplicationError(
            _("Not tasks of this project: %(ids)s.") % {"ids": ", ".join(map(str, missing[:20]))},
            field="tasks",
            code="unknown_tasks",
        )
    return ids


def scope_clean(*, project: Project, tasks: object) -> object:
    """The ``tasks`` of a job request, checked: "unlabeled", "all", {"filter": …} or a list of ids."""
    if tasks is None:
        return "unlabeled"
    if isinstance(tasks, str):
        if tasks not in TASK_SCOPES:
            raise ApplicationError(
                _('tasks must be "unlabeled", "all", {"filter": …} or a list of task ids.'), field="tasks"
            )
        return tasks
    if isinstance(tasks, list):
        return _task_ids(project, tasks)
    if isinstance(tasks, dict) and set(tasks) == {"filter"}:
        # Kept in the job's scope as sent: JSON the database stores.
        validation.check_json(tasks, field="tasks")
        _filter_query(tasks["filter"], field="tasks.filter")
        return {"filter": tasks["filter"]}
    raise ApplicationError(
        _('tasks must be "unlabeled", "all", {"filter": …} or a list of task ids.'), field="tasks"
    )


def _scope_where(project: Project, tasks: object) -> tuple[str, list]:
    """The SQL condition on ``t`` for the job's tasks (a list of ids is walked in Python instead)."""
    base, params = 't."project_id" = %s', [project.pk]
    if tasks == "unlabeled":
        return base + ' AND NOT t."is_labeled"', params
    if isinstance(tasks, dict) and "filter" in tasks:
        return task_query_where(project=project, query=_filter_query(tasks["filter"], field="tasks.filter"))
    if isinstance(tasks, dict) and "import" in tasks:
        first, last = tasks["import"]["first_inner_id"], tasks["import"]["last_inner_id"]
        return base + ' AND t."inner_id" >= %s AND t."inner_id" <= %s', [*params, first, last]
    return base, params


def _scope_count(project: Project, tasks: object) -> int:
    if isinstance(tasks, list):
        return len(tasks)
    where, params = _scope_where(project, tasks)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{TASK}" t WHERE {where}', params)
        row = cursor.fetchone()
    return row[0] if row else 0


def _scope_page(project: Project, tasks: object, *, after: int, size: int) -> list[int]:
    if isinstance(tasks, list):
        start = next((index for index, task_id in enumerate(tasks) if task_id > after), len(tasks))
        return [int(task_id) for task_id in tasks[start : start + size]]
    where, params = _scope_where(project, tasks)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT t."id" FROM "{TASK}" t WHERE {where} AND t."id" > %s ORDER BY t."id" LIMIT %s',
            [*params, after, size],
        )
        return [row[0] for row in cursor.fetchall()]


# ---- creating, cancelling ---------------------------------------------------------------------------


def _enqueue(job: PrelabelJob, *, raise_unreachable: bool) -> None:
    from training.tasks import prelabel_run_job

    try:
        prelabel_run_job.delay(job.pk)
    except BrokerUnreachable as exc:
        # A created row with no message would wait forever: fail it, and tell the client when there is one.
        logger.error("Pre-labeling job %s could not be queued: %s", job.pk, exc)
        PrelabelJob.objects.filter(pk=job.pk, state=JobState.CREATED).update(
            state=JobState.FAILED,
            finished_at=timezone.now(),
            error={"code": "queue_unavailable", "message": "The job queue was unreachable.", "field": None},
        )
        if raise_unreachable:
            raise ApplicationError(
                _("The job queue is unreachable, so the job was not started; try again later."),
                code="queue_unavailable",
                status=503,
            ) from exc


def prelabel_job_create(
    *,
    prelabeler: Prelabeler,
    user: User | None,
    tasks: object = None,
    refit: object = False,
    checked_scope: object = None,
    from_request: bool = True,
) -> PrelabelJob:
    """A job row, queued on the ``prelabel`` queue once the transaction commits.

    ``tasks`` is what a client sent (checked here); ``checked_scope`` a scope built by Tessera itself
    (the tasks an import added). A job whose message cannot be queued fails at once (503 to a client).
    """
    project = prelabeler.project
    if not prelabeler.is_active:
        raise Conflict(_("This pre-labeler is turned off; turn it on to run it."), code="inactive")
    refit = validation.flag(refit, field="refit", default=False)
    scope_tasks = checked_scope if checked_scope is not None else scope_clean(project=project, tasks=tasks)
    with transaction.atomic():
        job = PrelabelJob.objects.create(
            project=project,
            prelabeler=prelabeler,
            created_by=user,
            # The model version is settled by the worker (a learning backend may fit first).
            scope={"tasks": scope_tasks, "refit": refit},
        )
        audit_record(
            actor=user,
            organization=project.organization_id,
            action="prelabel_job.create",
            obj=job,
            details={"prelabeler": prelabeler.pk, "refit": refit, "automatic": not from_request},
        )
        transaction.on_commit(partial(_enqueue, job, raise_unreachable=from_request))
    return job


def prelabel_job_cancel(*, job: PrelabelJob, user: User) -> PrelabelJob:
    """A waiting job is cancelled at once (a late message for it claims nothing); a running one stops at
    its worker's next batch, or at the reaper if its worker is gone. Asking again is harmless."""
    with transaction.atomic():
        if cancel_mark(job) is None:
            return job
        audit_record(
            actor=user, organization=job.project.organization_id, action="prelabel_job.cancel", obj=job
        )
    return job


# ---- automatic jobs -----------------------------------------------------------------------------------


def prelabel_after_import(*, project_id: int, first_inner_id: int, count: int) -> None:
    """In an import's transaction: once it commits, a job for each pre-labeler of the project that
    pre-labels imports, over the tasks the import added. One indexed query after the commit when the
    project has none."""
    if count > 0:
        transaction.on_commit(partial(_jobs_for_import, project_id, first_inner_id, count))


def _jobs_for_import(project_id: int, first_inner_id: int, count: int) -> None:
    prelabelers = list(
        Prelabeler.objects.filter(project_id=project_id, run_on_import=True, is_active=True).select_related(
            "project"
        )
    )
    scope = {"import": {"first_inner_id": first_inner_id, "last_inner_id": first_inner_id + count - 1}}
    for prelabeler in prelabelers:
        try:
            prelabel_job_create(prelabeler=prelabeler, user=None, checked_scope=scope, from_request=False)
        except (ApplicationError, DatabaseError) as exc:
            # The import itself has committed: a pre-labeling job that cannot start must not undo it.
            logger.error("Pre-labeling after an import of project %s failed to start: %s", project_id, exc)


@dataclass
class SweepReport:
    refits: list[int] = field(default_factory=list)


def prelabel_refit_sweep() -> SweepReport:
    """Run by beat: a refit job for each fitted pre-labeler whose project gained (or lost)
    ``prelabel_refit_every`` labels since its last fit, unless one of its jobs is waiting or running.

    A learning pre-labeler that was never fitted gets its first job the same way, once the project has
    ``prelabel_refit_every`` labels (counted from its last failed attempt, if a fit failed: a fit that
    cannot succeed yet, such as one with a single class, is not retried on every tick). Backend
    classes are loaded only for never-fitted pre-labelers; labels are counted once a project.
    """
    report = SweepReport()
    candidates = list(
        Prelabeler.objects.filter(is_active=True, project__prelabel_refit_every__gt=0)
        .exclude(jobs__state__in=LIVE_STATES)
        .select_related("project")
        .order_by("project_id", "pk")
    )
    counts: dict[int, int] = {}
    learns: dict[str, bool] = {}
    for prelabeler in candidates:
        if prelabeler.fitted_at is None:
            if prelabeler.backend not in learns:
                learns[prelabeler.backend] = backend_class(prelabeler.backend).learns
            if not learns[prelabeler.backend]:
                continue
        project = prelabeler.project
        if project.pk not in counts:
            counts[project.pk] = labeled_count(project)
        if abs(counts[project.pk] - _labels_at_last_fit(prelabeler)) < project.prelabel_refit_every:
            continue
        try:
            prelabel_job_create(
                prelabeler=prelabeler, user=None, checked_scope="unlabeled", refit=True, from_request=False
            )
        except ApplicationError as exc:
            logger.error("Refit of pre-labeler %s could not start: %s", prelabeler.pk, exc)
            continue
        report.refits.append(prelabeler.pk)
    return report


def _labels_at_last_fit(prelabeler: Prelabeler) -> int:
    """The label count of the last fit, or of the last failed first fit (kept in ``fit_info``)."""
    if prelabeler.fitted_at is not None:
        return prelabeler.fitted_examples
    info = prelabeler.fit_info if isinstance(prelabeler.fit_info, dict) else {}
    labels = info.get("labels")
    return labels if isinstance(labels, int) else 0


# ---- the runner -----------------------------------------------------------------------------------------


class BatchFailed(Exception):
    def __init__(self, first: int, last: int, tries: int, cause: BaseException):
        super().__init__(f"tasks {first} to {last}: {type(cause).__name__}: {cause}")
        self.first, self.last, self.tries, self.cause = first, last, tries, cause


class Cancelled(Exception):
    pass


def _error(code: str, message: str, field: str | None = None) -> dict:
    return {"code": code, "message": message, "field": field}


@contextlib.contextmanager
def kept_alive(lease: Lease) -> Iterator[None]:
    """Renew the lease from a thread while a long call (a fit, a slow model's batch) runs.

    The thread has a database connection of its own, closed when it ends; a lease found lost there
    is raised here once the call returns, so that the batch is not written.
    """
    stop = threading.Event()
    lost: list[BaseException] = []

    def beat() -> None:
        try:
            while not stop.wait(lease.seconds / 4):
                try:
                    lease.renew(force=True)
                except LeaseLost as exc:
                    lost.append(exc)
                    return
                except ApplicationError:
                    return  # past the time limit: the main thread finds it at its next renewal
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"prelabel-heartbeat-{lease.job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if lost:
        raise lost[0]


@dataclass
class Checked:
    """A backend's answers for a batch, checked against the config: what to write and what was dropped."""

    predictions: list[tuple[PredictionOut, str]] = field(default_factory=list)  # with the result's JSON
    dropped: list[Dropped] = field(default_factory=list)


def _plain_number(value: object) -> object:
    """A NumPy or PyTorch scalar as the Python number it holds (backends compute scores with them)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and not isinstance(value, (int, float)) else value


def outputs_check(
    outputs: list[PredictionOut | Dropped], tasks: list[TaskInput], *, validator: ResultValidator
) -> Checked:
    """Each task's answer checked as an imported prediction is (shape, labels, offsets, size, score);
    an answer that does not fit, or a task the backend left unanswered, is dropped with a reason."""
    checked = Checked()
    by_id = {task.id: task for task in tasks}
    answered: set[int] = set()
    for output in outputs:
        task = by_id.get(output.task_id)
        if task is None or output.task_id in answered:
            continue
        answered.add(output.task_id)
        if isinstance(output, Dropped):
            checked.dropped.append(output)
            continue
        try:
            if not isinstance(output.result, list):
                raise ApplicationError(_("The result is not a list."), field="result")
            validation.check_json(output.result, field="result")
            text = json.dumps(output.result, ensure_ascii=False)
            if len(text.encode()) > settings.TESSERA_MAX_RESULT_BYTES:
                raise ApplicationError(_("The result is too large."), field="result")
            validator.validate(output.result, task.data, field="result", text=text)
            output.score = validation.score(_plain_number(output.score), field="score")
            uncertainty = _plain_number(output.uncertainty)
            if uncertainty is not None and (
                not isinstance(uncertainty, (int, float))
                or isinstance(uncertainty, bool)
                or not math.isfinite(uncertainty)
            ):
                raise ApplicationError(_("The uncertainty is not a finite number."), field="uncertainty")
            output.uncertainty = None if uncertainty is None else float(uncertainty)
        except ApplicationError as error:
            reason = f"{error.field}: {error.message}" if error.field else error.message
            checked.dropped.append(Dropped(output.task_id, reason))
            continue
        except (LookupError, TypeError, ValueError, AttributeError) as error:
            # A result shaped unlike any Label Studio result (an external backend's answer).
            checked.dropped.append(Dropped(output.task_id, f"result: {type(error).__name__}: {error}"[:500]))
            continue
        checked.predictions.append((output, text))
    for task in tasks:
        if task.id not in answered:
            checked.dropped.append(Dropped(task.id, "the backend gave no answer"))
    return checked


class JobRun:
    def __init__(self, lease: Lease):
        self.lease = lease
        self.job = PrelabelJob.objects.select_related("prelabeler", "project").get(pk=lease.job_id)
        self.prelabeler = self.job.prelabeler
        self.project = self.job.project
        self.tasks_scope = (self.job.scope or {}).get("tasks", "unlabeled")
        self.tries = settings.TESSERA_PRELABEL_BATCH_TRIES

    # ---- row updates, each naming the owner --------------------------------------------------------

    def _mine(self) -> QuerySet[PrelabelJob]:
        """The job's row while this worker owns it."""
        return PrelabelJob.objects.filter(
            pk=self.job.pk, state=JobState.IN_PROGRESS, lease_owner=self.lease.owner
        )

    def _update(self, **fields: Any) -> None:
        if not self._mine().update(**fields):
            raise LeaseLost(f"pre-labeling job {self.job.pk} is no longer held by {self.lease.owner}")

    def _cancel_requested(self) -> bool:
        return PrelabelJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    # ---- stages ------------------------------------------------------------------------------------------

    def run(self) -> None:
        if self.job.cancel_requested:
            raise Cancelled
        if not self.prelabeler.is_active:
            raise ApplicationError(_("The pre-labeler was turned off."), code="inactive")
        backend = backend_for(self.prelabeler)
        backend.check()
        version = self.job.model_version or self._fit(backend)
        fields: dict[str, Any] = {"model_version": version}
        if not self.job.last_task_id and not self.job.tasks_done:
            fields["total"] = _scope_count(self.project, self.tasks_scope)
        self._update(**fields)
        if not backend.learns and self.prelabeler.model_version != version:
            Prelabeler.objects.filter(pk=self.prelabeler.pk).update(model_version=version)
        self._predict_all(backend, version)
        with transaction.atomic():
            self.lease.hold()
            self.lease.complete()
            job = PrelabelJob.objects.get(pk=self.job.pk)
            audit_record(
                actor=None,
                organization=self.project.organization_id,
                action="prelabel_job.complete",
                obj=job,
                details={
                    "model_version": version,
                    "tasks_done": job.tasks_done,
                    "predictions_written": job.predictions_written,
                    "skipped": job.skipped,
                    "dropped": job.dropped,
                    "errors": job.errors,
                },
            )

    def _first_fit_failed(self, count: int, message: str) -> None:
        """Remember the label count of a failed first fit, so that beat's sweep waits for new labels."""
        if self.prelabeler.fitted_at is not None:
            return  # the earlier fit stays the pre-labeler's model, and its info stays true
        info = {"state": "failed", "error_message": message, "labels": count}
        Prelabeler.objects.filter(pk=self.prelabeler.pk, fitted_at__isnull=True).update(fit_info=info)

    def _fit(self, backend: Backend) -> str:
        """Fit a learning backend when its fit is older than the labels (or a refit was asked); the version."""
        if not backend.learns:
            return backend.model_version()
        prelabeler = self.prelabeler
        count = labeled_count(self.project)
        asked = bool((self.job.scope or {}).get("refit"))
        if not asked and prelabeler.fitted_at is not None and count == prelabeler.fitted_examples:
            return backend.model_version()
        with kept_alive(self.lease):
            examples = labeled_examples(self.project)
            try:
                fitted = backend.fit(examples)
            except BackendUnfit as unfit:
                self._first_fit_failed(count, unfit.message)
                raise
            except Exception as exc:
                logger.exception("Pre-labeler %s failed to fit", prelabeler.pk)
                message = _("The fit failed: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"[:1000]}
                self._first_fit_failed(count, str(message))
                raise ApplicationError(message, code="fit_failed") from exc
        now = timezone.now()
        with transaction.atomic():
            self.lease.hold()
            Prelabeler.objects.filter(pk=prelabeler.pk).update(
                model_version=fitted.model_version, fitted_at=now, fitted_examples=count, fit_info=fitted.info
            )
            self._update(model_version=fitted.model_version)
            audit_record(
                actor=None,
                organization=self.project.organization_id,
                action="prelabeler.fit",
                obj=prelabeler,
                details={
                    "job": self.job.pk,
                    "model_version": fitted.model_version,
                    "examples": fitted.examples,
                },
            )
        # The backend object holds this same row: it sees its new fit.
        prelabeler.model_version, prelabeler.fitted_at = fitted.model_version, now
        prelabeler.fitted_examples, prelabeler.fit_info = count, fitted.info
        return fitted.model_version

    def _predict_all(self, backend: Backend, version: str) -> None:
        batch_size = settings.TESSERA_PRELABEL_BATCH_SIZE or backend.batch_size
        validator = ResultValidator(backend.schema)
        after = self.job.last_task_id
        while page := _scope_page(self.project, self.tasks_scope, after=after, size=PAGE_TASKS):
            data = dict(
                Task.objects.filter(project_id=self.project.pk, pk__in=page).values_list("id", "data")
            )
            existing = set(
                Prediction.objects.filter(
                    task_id__in=page, prelabeler_id=self.prelabeler.pk, model_version=version
                ).values_list("task_id", flat=True)
            )
            for start in range(0, len(page), batch_size):
                if self._cancel_requested():
                    raise Cancelled
                self.lease.renew()
                ids = page[start : start + batch_size]
                self._batch(backend, version, ids, data, existing, validator)
            after = page[-1]

    def _batch(
        self,
        backend: Backend,
        version: str,
        ids: list[int],
        data: dict[int, Any],
        existing: set[int],
        validator: ResultValidator,
    ) -> None:
        tasks = [
            TaskInput(task_id, data[task_id])
            for task_id in ids
            if task_id in data and task_id not in existing
        ]
        skipped = sum(1 for task_id in ids if task_id in existing)
        for attempt in range(1, self.tries + 1):
            try:
                if tasks:
                    with kept_alive(self.lease):
                        outputs = backend.predict(tasks)
                else:
                    outputs = []
                checked = outputs_check(outputs, tasks, validator=validator)
                self._write(version, ids, checked, skipped=skipped)
                return
            except (LeaseLost, Cancelled):
                raise
            except Exception as exc:
                logger.warning(
                    "Pre-labeling job %s: tasks %s to %s failed (try %s of %s): %s",
                    self.job.pk, ids[0], ids[-1], attempt, self.tries, exc,
                )  # fmt: skip
                self._update(errors=F("errors") + 1)
                if attempt == self.tries:
                    raise BatchFailed(ids[0], ids[-1], self.tries, exc) from exc

    def _write(self, version: str, ids: list[int], checked: Checked, *, skipped: int) -> None:
        now = db_datetime(timezone.now())
        with transaction.atomic():
            # The job's row stays locked until the commit: the reaper and a second delivery pass over it.
            self.lease.hold()
            # The locking rule of annotation/services/counters.py: the project (shared), the tasks in id
            # order, the project's totals last. A task deleted since it was read is no longer there.
            project_hold(self.project.pk)
            wanted = sorted(output.task_id for output, _text in checked.predictions)
            present = set(
                Task.objects.select_for_update()
                .filter(pk__in=wanted)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            rows = [(output, text) for output, text in checked.predictions if output.task_id in present]
            inserted = self._insert(version, rows, now) if rows else []
            if inserted:
                self._tasks_update(inserted, {output.task_id: output.uncertainty for output, _text in rows})
                project_totals_add(self.project.pk, predictions=len(inserted))
            self._update(
                tasks_done=F("tasks_done") + len(ids),
                predictions_written=F("predictions_written") + len(inserted),
                # Tasks found with this version's prediction: before predicting, or written meanwhile.
                skipped=F("skipped") + skipped + len(rows) - len(inserted),
                dropped=F("dropped") + len(checked.dropped),
                last_task_id=ids[-1],
                heartbeat_at=timezone.now(),
            )

    def _insert(self, version: str, rows: list[tuple[PredictionOut, str]], now: Any) -> list[int]:
        """INSERT … ON CONFLICT DO NOTHING RETURNING: the ids of the tasks that got a new prediction."""
        inserted: list[int] = []
        # 8 parameters a row: 1,000 rows stay under SQLite's 32,766 parameters a statement.
        for start in range(0, len(rows), 1000):
            inserted += self._insert_rows(version, rows[start : start + 1000], now)
        return inserted

    def _insert_rows(self, version: str, rows: list[tuple[PredictionOut, str]], now: Any) -> list[int]:
        result_field = Prediction._meta.get_field("result")
        values = []
        params: list[Any] = []
        for output, _text in rows:
            values.append("(%s, %s, %s, %s, %s, %s, %s, %s)")
            params += [
                output.task_id, self.project.pk, version,
                result_field.get_db_prep_value(output.result, connection, prepared=False),
                output.score, self.prelabeler.pk, now, now,
            ]  # fmt: skip
        sql = (
            f'INSERT INTO "{PREDICTION}" ("task_id", "project_id", "model_version", "result", "score", '
            f'"prelabeler_id", "created_at", "updated_at") VALUES {", ".join(values)} '
            'ON CONFLICT DO NOTHING RETURNING "task_id"'
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]

    def _tasks_update(self, task_ids: list[int], uncertainty: dict[int, float | None]) -> None:
        for start in range(0, len(task_ids), 1000):
            self._tasks_update_chunk(task_ids[start : start + 1000], uncertainty)

    def _tasks_update_chunk(self, task_ids: list[int], uncertainty: dict[int, float | None]) -> None:
        known = [
            (task_id, float(value)) for task_id in task_ids if (value := uncertainty.get(task_id)) is not None
        ]
        params: list[Any] = []
        assignment = ""
        if known:
            cases = " ".join("WHEN %s THEN %s" for _pair in known)
            assignment = f', "uncertainty" = CASE "id" {cases} ELSE "uncertainty" END'
            for task_id, value in known:
                params += [task_id, value]
        placeholders = ", ".join(["%s"] * len(task_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{TASK}" SET "total_predictions" = "total_predictions" + 1{assignment} '
                f'WHERE "id" IN ({placeholders})',
                [*params, *task_ids],
            )


def prelabel_job_run(*, job_id: int) -> None:
    """Claim the job through its lease and run it; a job someone else holds, or that is done, is left alone."""
    lease = Lease.claim(PrelabelJob, job_id)
    if lease is None:
        return
    try:
        JobRun(lease).run()
    except Cancelled:
        PrelabelJob.objects.filter(pk=job_id, state=JobState.IN_PROGRESS, lease_owner=lease.owner).update(
            state=JobState.CANCELLED, finished_at=timezone.now(), lease_expires_at=None
        )
    except BatchFailed as failed:
        lease.fail(
            _error(
                "batch_failed",
                f"Tasks {failed.first} to {failed.last} failed {failed.tries} times; the last error: "
                f"{type(failed.cause).__name__}: {failed.cause}"[:2000],
            )
        )
    except BackendUnfit as unfit:
        lease.fail(_error("backend_unfit", unfit.message, unfit.field))
    except ApplicationError as error:
        message = error.message
        if error.code == "time_limit":
            message = f"The job ran longer than its time limit ({lease.time_limit} s) and was stopped; the predictions written so far are kept."
        lease.fail(_error(error.code, message, error.field))
    except LeaseLost as lost:
        # The lease ran out (this worker stalled) and the job went to another worker or the reaper.
        logger.warning("Pre-labeling job %s stopped: %s", job_id, lost)
    except (DatabaseError, OSError):
        # A transient fault: the task retries, and the retry may claim the job at once.
        with contextlib.suppress(DatabaseError):
            lease.release()
        raise


def prelabel_job_fail(*, job_id: int, message: str, code: str = "server_error") -> None:
    """Mark a job failed after its task's retries ran out on an unexpected fault."""
    PrelabelJob.objects.filter(pk=job_id, state__in=LIVE_STATES).update(
        state=JobState.FAILED, finished_at=timezone.now(), lease_expires_at=None, error=_error(code, message)
    )


# ---- the reaper -------------------------------------------------------------------------------------------


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def prelabel_jobs_reap() -> ReapReport:
    """As ``import_jobs_reap``: a job whose lease ran out goes back to created and is queued again, or
    fails with ``worker_lost`` after TESSERA_JOB_MAX_ATTEMPTS claims; one whose cancel was asked is
    cancelled. Rows being written are locked by their owner and passed over."""
    report = ReapReport()
    now = timezone.now()
    with transaction.atomic():
        candidates = list(
            PrelabelJob.objects.select_for_update(skip_locked=True)
            .filter(expired(now))
            .order_by("pk")
            .values_list("pk", "attempts", "cancel_requested")
        )
        for job_id, attempts, cancel_requested in candidates:
            still_expired = PrelabelJob.objects.filter(expired(now), pk=job_id)
            if cancel_requested:
                if still_expired.update(state=JobState.CANCELLED, finished_at=now, lease_expires_at=None):
                    report.cancelled.append(job_id)
            elif attempts >= settings.TESSERA_JOB_MAX_ATTEMPTS:
                message = (
                    f"The pre-labeling job was started {attempts} times and its worker stopped each time "
                    "before finishing (killed, out of memory, or restarted); it was given up."
                )
                if still_expired.update(
                    state=JobState.FAILED, finished_at=now, lease_expires_at=None,
                    error=_error("worker_lost", message),
                ):  # fmt: skip
                    report.failed.append(job_id)
            elif still_expired.update(state=JobState.CREATED, lease_owner="", lease_expires_at=None):
                report.requeued.append(job_id)
                transaction.on_commit(partial(_requeue, job_id))
    for job_id in report.requeued:
        logger.warning("Pre-labeling job %s lost its worker; queued again.", job_id)
    for job_id in report.failed:
        logger.error("Pre-labeling job %s lost its worker too many times; failed.", job_id)
    return report


def _requeue(job_id: int) -> None:
    from training.tasks import prelabel_run_job

    requeue(PrelabelJob, job_id, prelabel_run_job.delay, what="Pre-labeling job")
