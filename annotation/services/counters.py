"""Running totals kept on the project and task rows, so that paging a million tasks needs no COUNT(*) or SUM.

Every service that adds or removes tasks, annotations or predictions changes them in its own
transaction, by the rows it really changed, under one locking rule (stated once, here):

1. ``project_hold`` first: ``FOR KEY SHARE`` on the project row. Writers of one project do not
   wait for each other on it (it conflicts only with ``FOR UPDATE``), but a project or
   all-tasks delete, which takes ``FOR UPDATE``, waits for writers in flight and makes later
   ones wait; they then find their task gone (404) instead of adding rows to a task being
   deleted (a foreign-key error at commit, a 500).
2. then ``task_hold``: ``FOR UPDATE`` on the task row, and a fresh statement for everything
   counted after it. Under READ COMMITTED a statement started after the lock is granted sees
   every commit before it, so two deletes of one annotation, or ten submits by one user, queue
   on the row and the later ones see what the earlier did.
3. ``project_totals_add`` last: its UPDATE holds the project's row lock until the transaction
   commits, and every writer of the project queues behind it, so nothing may follow it but the
   commit. A service whose steps after the counters still write (the agreement's shard, the
   audit event) runs under ``project_totals_last``, which holds the totals back and writes them
   as the block's last statement: six annotators submitting at once had queued on the project row
   through each other's agreement refresh and audit insert.

The same order everywhere (project, then task, then a quality shard, then the project's totals)
leaves no cycle to deadlock on. SQLite runs one writer at a time (transactions open with BEGIN IMMEDIATE), so there
the row locks are no-ops and the order holds trivially.

``counters_check`` recounts every counter set-based and can fix them (``manage.py
tessera_check_counters``).
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import Annotation, Prediction, Project, Task
from annotation.result_labels import labels_document, result_labels, task_labels
from tessera import prepared
from tessera.errors import NotFound
from tessera.rows import ModelRows, db_datetime

# Every submit, skip and delete runs the statements below: written out, since building them with the
# ORM cost more CPU than running them (see tessera/rows.py).
_HELD_TASK_ROWS = ModelRows(
    Task,
    [
        "project_id",
        "total_annotations",
        "cancelled_annotations",
        "total_predictions",
        "is_labeled",
        "labels",
        "is_gold",
        "state",
    ],
)
# With the row, how many of its answers a reviewer rejected (the state machine needs it to say where
# a new answer leaves the task, annotation/services/states.py): a probe of the task's few annotations
# in the same statement, so holding the task costs no extra round trip.
_TASK_HOLD_SQL = (
    f'SELECT {_HELD_TASK_ROWS.columns("t")}, (SELECT COUNT(*) FROM "{Annotation._meta.db_table}" a '
    f'WHERE a."task_id" = t."id" AND NOT a."was_cancelled" AND a."review_state" = \'rejected\') '
    f'FROM "{Task._meta.db_table}" t WHERE t."id" = %s'
)
_TASK_COUNTERS_SQL = f"""
UPDATE "{Task._meta.db_table}" SET "total_annotations" = "total_annotations" + %s,
  "cancelled_annotations" = "cancelled_annotations" + %s, "is_labeled" = %s, "updated_at" = %s, "state" = %s
WHERE "id" = %s
"""
# The same with the task's label set (the data table's label filter reads it), when the change moved it.
_TASK_COUNTERS_AND_LABELS_SQL = f"""
UPDATE "{Task._meta.db_table}" SET "total_annotations" = "total_annotations" + %s,
  "cancelled_annotations" = "cancelled_annotations" + %s, "is_labeled" = %s, "updated_at" = %s, "state" = %s,
  "labels" = %s
WHERE "id" = %s
"""
_LABELS_FIELD = Task._meta.get_field("labels")


# The project's columns of tasks per state and answers waiting for review (the review backlog).
STATE_TOTALS = ("tasks_in_progress", "tasks_labeled", "tasks_in_review", "tasks_done", "answers_to_review")

# The connection's (so this thread's) totals held back by project_totals_last, per project.
_PENDING = "tessera_pending_totals"


@contextmanager
def project_totals_last() -> Iterator[None]:
    """Step 3 of the rule for a service with more to write after its counters (usable as a decorator,
    inside ``transaction.atomic``): ``project_totals_add`` calls in the block are summed per project and
    written when it ends, so the project's row lock is taken just before the commit. Nested blocks
    leave the writing to the outermost; a block that raises writes nothing (its transaction rolls back)."""
    if getattr(connection, _PENDING, None) is not None:
        yield
        return
    pending: dict[int, Counter] = {}
    setattr(connection, _PENDING, pending)
    try:
        yield
    finally:
        setattr(connection, _PENDING, None)
    for project_id in sorted(pending):
        _project_totals_write(project_id, pending[project_id])


def project_totals_add(
    project_id: int,
    *,
    tasks: int = 0,
    annotations: int = 0,
    predictions: int = 0,
    labeled_tasks: int = 0,
    annotated_tasks: int = 0,
    **states: int,
) -> None:
    """``states``: amounts for the project's state columns (``STATE_TOTALS``; kept by
    annotation/services/activity_totals.py)."""
    unknown = set(states) - set(STATE_TOTALS)
    if unknown:
        raise TypeError(f"unknown project totals: {sorted(unknown)}")
    amounts = Counter(tasks=tasks, annotations=annotations, predictions=predictions,
                      labeled_tasks=labeled_tasks, annotated_tasks=annotated_tasks, **states)  # fmt: skip
    pending = getattr(connection, _PENDING, None)
    if pending is None:
        _project_totals_write(project_id, amounts)
    else:
        pending.setdefault(project_id, Counter()).update(amounts)


def _project_totals_write(project_id: int, amounts: Counter) -> None:
    tasks, annotations, predictions = amounts["tasks"], amounts["annotations"], amounts["predictions"]
    labeled_tasks, annotated_tasks = amounts["labeled_tasks"], amounts["annotated_tasks"]
    changes = {}
    if tasks:
        changes["task_count"] = tasks
    if tasks < 0:
        # A deleted task shifts the position of every later one: cached page boundaries
        # (annotation/selectors.py) are keyed by this version and go stale with it.
        changes["task_layout_version"] = 1
    if annotations:
        changes["annotation_total"] = annotations
    if predictions:
        changes["prediction_total"] = predictions
    if labeled_tasks:
        changes["labeled_task_count"] = labeled_tasks
    if annotated_tasks:
        changes["annotated_task_count"] = annotated_tasks
    for name in STATE_TOTALS:
        if amounts[name]:
            changes[name] = amounts[name]
    if changes:
        # Column names come from the fixed list above, the amounts travel as parameters.
        assignments = ", ".join(f'"{name}" = "{name}" + %s' for name in changes)
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{Project._meta.db_table}" SET {assignments} WHERE "id" = %s',
                [*changes.values(), project_id],
            )


def task_annotation_counters_add(
    task: Task,
    *,
    project_id: int,
    overlap: int,
    total_delta: int,
    cancelled_delta: int,
    labels: dict | None = None,
    state: str | None = None,
) -> None:
    """Change a task's annotation counters and the project's totals that depend on them.

    ``task`` is the row as ``task_hold`` read it under its lock (step 2 of the rule), so its total is
    exact: whether the change crosses the overlap or leaves zero is known before writing, and the
    project's totals, labeled and annotated task counts included (the project list and the progress
    call read them), change in one UPDATE, last (step 3). ``labels``, when given, is the task's new
    label set (``task_labels_after``), written in the same UPDATE; so is ``state``, the task's state
    after the change (annotation/services/states.py; None keeps the one read under the lock).
    """
    old_total = task.total_annotations
    new_total = old_total + total_delta
    now = db_datetime(timezone.now())
    if state is None:
        state = task.state
    with connection.cursor() as cursor:
        if labels is None:
            prepared.execute(
                cursor,
                "task_counters",
                _TASK_COUNTERS_SQL,
                [total_delta, cancelled_delta, new_total >= overlap, now, state, task.pk],
            )
        else:
            stored = _LABELS_FIELD.get_db_prep_value(labels, connection, prepared=False)
            prepared.execute(
                cursor,
                "task_counters_labels",
                _TASK_COUNTERS_AND_LABELS_SQL,
                [total_delta, cancelled_delta, new_total >= overlap, now, state, stored, task.pk],
            )
    project_totals_add(
        project_id,
        annotations=total_delta,
        labeled_tasks=int(new_total >= overlap) - int(old_total >= overlap),
        annotated_tasks=int(new_total > 0) - int(old_total > 0),
    )


def task_labels_after(task: Task, *, added=None, recount: bool = False) -> dict:
    """The task's ``labels`` after a change of its annotations, under its row lock (step 2).

    A new submitted result only adds labels: its own are merged into the set read under the lock.
    An edit, a delete or a skip can remove some, which only a read of the task's submitted
    annotations can tell (``recount``; a handful of rows, in a fresh statement after the lock).
    """
    if recount:
        results = Annotation.objects.filter(task_id=task.pk, was_cancelled=False).values_list(
            "result", flat=True
        )
        return task_labels(results)
    found = {control: set(labels) for control, labels in (task.labels or {}).items()}
    return labels_document(result_labels(added, found))


def task_labels_set(task_id: int, labels: dict) -> None:
    """Write a task's label set alone (an edit that changed a result but no counter)."""
    Task.objects.filter(pk=task_id).update(labels=labels)


def project_hold(project_id: int) -> int:
    """Step 1 of the locking rule; returns the project's overlap as it stands under the lock (a
    concurrent change of ``maximum_annotations`` takes ``FOR UPDATE``, so it cannot change meanwhile)."""
    suffix = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        prepared.execute(
            cursor,
            "project_hold",
            f'SELECT "maximum_annotations" FROM "{Project._meta.db_table}" WHERE "id" = %s{suffix}',
            [project_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("Project not found."))
    return row[0]


def task_hold(task_id: int, *, message: str | None = None) -> Task:
    """Step 2 of the locking rule: the task row, locked and read fresh; 404 when it is gone."""
    suffix = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        prepared.execute(cursor, "task_hold", _TASK_HOLD_SQL + suffix, [task_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(message or _("Task not found."))
    task = _HELD_TASK_ROWS.build(row)
    # Not a field: read by annotation.services.states.task_state_after_submit.
    setattr(task, "rejected_annotations", row[_HELD_TASK_ROWS.width])  # noqa: B010
    return task


# ---- recount ------------------------------------------------------------------------------------

TASK_COUNTERS = ("total_annotations", "cancelled_annotations", "total_predictions", "is_labeled")
PROJECT_COUNTERS = (
    "task_count",
    "annotation_total",
    "prediction_total",
    "task_counter",
    "labeled_task_count",
    "annotated_task_count",
)
EXAMPLES_KEPT = 50


@dataclass
class CounterReport:
    """Counters that differ from a recount: how many per counter, and the first few as examples."""

    differences: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    fixed: bool = False

    @property
    def total(self) -> int:
        return sum(self.differences.values())


def _tables() -> dict[str, str]:
    return {
        "task": Task._meta.db_table,
        "project": Project._meta.db_table,
        "annotation": Annotation._meta.db_table,
        "prediction": Prediction._meta.db_table,
    }


# One pass over each table, grouped: a recount of a million tasks is three scans and two hash
# joins, not a query per task. A task whose counters all match drops out in the WHERE.
_TASK_RECOUNT_SQL = """
SELECT t."id", t."project_id", t."total_annotations", t."cancelled_annotations", t."total_predictions",
       t."is_labeled", COALESCE(a."submitted", 0), COALESCE(a."cancelled", 0), COALESCE(pr."n", 0),
       COALESCE(a."submitted", 0) >= p."maximum_annotations"
FROM "{task}" t
JOIN "{project}" p ON p."id" = t."project_id"
LEFT JOIN (
    SELECT "task_id",
           SUM(CASE WHEN "was_cancelled" THEN 0 ELSE 1 END) AS "submitted",
           SUM(CASE WHEN "was_cancelled" THEN 1 ELSE 0 END) AS "cancelled"
    FROM "{annotation}" GROUP BY "task_id"
) a ON a."task_id" = t."id"
LEFT JOIN (SELECT "task_id", COUNT(*) AS "n" FROM "{prediction}" GROUP BY "task_id") pr ON pr."task_id" = t."id"
WHERE t."total_annotations" <> COALESCE(a."submitted", 0)
   OR t."cancelled_annotations" <> COALESCE(a."cancelled", 0)
   OR t."total_predictions" <> COALESCE(pr."n", 0)
   OR t."is_labeled" <> (COALESCE(a."submitted", 0) >= p."maximum_annotations")
ORDER BY t."id"
"""

_PROJECT_RECOUNT_SQL = """
SELECT p."id", p."task_count", p."annotation_total", p."prediction_total", p."task_counter",
       p."labeled_task_count", p."annotated_task_count",
       COALESCE(t."n", 0), COALESCE(a."n", 0), COALESCE(pr."n", 0), COALESCE(t."last_inner_id", 0),
       COALESCE(t."labeled", 0), COALESCE(t."annotated", 0)
FROM "{project}" p
LEFT JOIN (
    -- Labeled and annotated tasks are counted from the tasks' own counters, which the task check
    -- above verifies (and a fix sets first).
    SELECT "project_id", COUNT(*) AS "n", MAX("inner_id") AS "last_inner_id",
           SUM(CASE WHEN "is_labeled" THEN 1 ELSE 0 END) AS "labeled",
           SUM(CASE WHEN "total_annotations" > 0 THEN 1 ELSE 0 END) AS "annotated"
    FROM "{task}" GROUP BY "project_id"
) t ON t."project_id" = p."id"
LEFT JOIN (
    SELECT "project_id", COUNT(*) AS "n" FROM "{annotation}" WHERE NOT "was_cancelled" GROUP BY "project_id"
) a ON a."project_id" = p."id"
LEFT JOIN (SELECT "project_id", COUNT(*) AS "n" FROM "{prediction}" GROUP BY "project_id") pr
    ON pr."project_id" = p."id"
WHERE p."task_count" <> COALESCE(t."n", 0)
   OR p."annotation_total" <> COALESCE(a."n", 0)
   OR p."prediction_total" <> COALESCE(pr."n", 0)
   OR p."task_counter" < COALESCE(t."last_inner_id", 0)
   OR p."labeled_task_count" <> COALESCE(t."labeled", 0)
   OR p."annotated_task_count" <> COALESCE(t."annotated", 0)
ORDER BY p."id"
"""

# The fix recounts only the rows found wrong, each counter from its own indexed subquery.
_TASK_FIX_SQL = """
UPDATE "{task}" SET
    "total_annotations" = (SELECT COUNT(*) FROM "{annotation}" a WHERE a."task_id" = "{task}"."id" AND NOT a."was_cancelled"),
    "cancelled_annotations" = (SELECT COUNT(*) FROM "{annotation}" a WHERE a."task_id" = "{task}"."id" AND a."was_cancelled"),
    "total_predictions" = (SELECT COUNT(*) FROM "{prediction}" pr WHERE pr."task_id" = "{task}"."id"),
    "is_labeled" = (
        (SELECT COUNT(*) FROM "{annotation}" a WHERE a."task_id" = "{task}"."id" AND NOT a."was_cancelled")
        >= (SELECT p."maximum_annotations" FROM "{project}" p WHERE p."id" = "{task}"."project_id")
    )
WHERE "id" IN ({ids})
"""

_PROJECT_FIX_SQL = """
UPDATE "{project}" SET
    "task_count" = (SELECT COUNT(*) FROM "{task}" t WHERE t."project_id" = "{project}"."id"),
    "annotation_total" = (
        SELECT COUNT(*) FROM "{annotation}" a WHERE a."project_id" = "{project}"."id" AND NOT a."was_cancelled"
    ),
    "prediction_total" = (SELECT COUNT(*) FROM "{prediction}" pr WHERE pr."project_id" = "{project}"."id"),
    "task_counter" = MAX("task_counter",
        COALESCE((SELECT MAX(t."inner_id") FROM "{task}" t WHERE t."project_id" = "{project}"."id"), 0)),
    "labeled_task_count" = (
        SELECT COUNT(*) FROM "{task}" t WHERE t."project_id" = "{project}"."id" AND t."is_labeled"
    ),
    "annotated_task_count" = (
        SELECT COUNT(*) FROM "{task}" t WHERE t."project_id" = "{project}"."id" AND t."total_annotations" > 0
    )
WHERE "id" IN ({ids})
"""

# Ids travel as SQL parameters; SQLite allows 32,766 in one statement.
IDS_PER_FIX = 5000


def _fix(template: str, ids: list[int]) -> None:
    sql = template
    if connection.vendor == "postgresql":
        sql = sql.replace('MAX("task_counter",', 'GREATEST("task_counter",')
    with connection.cursor() as cursor:
        for start in range(0, len(ids), IDS_PER_FIX):
            chunk = ids[start : start + IDS_PER_FIX]
            cursor.execute(sql.format(**_tables(), ids=", ".join(["%s"] * len(chunk))), chunk)


def counters_check(*, fix: bool = False) -> CounterReport:
    """Compare every task and project counter with a recount of the rows; with ``fix``, set them to it.

    Meant for an operator (after a crash, a restore, or to prove a release right) and for the race
    tests. A fix runs in one transaction; writers racing it may leave a difference a second run shows.
    """
    report = CounterReport()
    wrong_tasks: list[int] = []
    wrong_projects: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TASK_RECOUNT_SQL.format(**_tables()))
        while rows := cursor.fetchmany(2000):
            for task_id, project_id, *stored_and_counted in rows:
                stored, counted = stored_and_counted[:4], stored_and_counted[4:]
                wrong_tasks.append(task_id)
                for name, old, new in zip(TASK_COUNTERS, stored, counted, strict=True):
                    if bool(old) != bool(new) if name == "is_labeled" else old != new:
                        report.differences[f"task.{name}"] = report.differences.get(f"task.{name}", 0) + 1
                        if len(report.examples) < EXAMPLES_KEPT:
                            report.examples.append(
                                f"task {task_id} (project {project_id}): {name} is {old}, recount {new}"
                            )
        cursor.execute(_PROJECT_RECOUNT_SQL.format(**_tables()))
        for project_id, *stored_and_counted in cursor.fetchall():
            size = len(PROJECT_COUNTERS)
            stored, counted = stored_and_counted[:size], stored_and_counted[size:]
            wrong_projects.append(project_id)
            for name, old, new in zip(PROJECT_COUNTERS, stored, counted, strict=True):
                if old < new if name == "task_counter" else old != new:
                    report.differences[f"project.{name}"] = report.differences.get(f"project.{name}", 0) + 1
                    if len(report.examples) < EXAMPLES_KEPT:
                        shown = f"largest inner_id {new}" if name == "task_counter" else f"recount {new}"
                        report.examples.append(f"project {project_id}: {name} is {old}, {shown}")
        if fix and (wrong_tasks or wrong_projects):
            _fix(_TASK_FIX_SQL, wrong_tasks)
            _fix(_PROJECT_FIX_SQL, wrong_projects)
            report.fixed = True
    return report
