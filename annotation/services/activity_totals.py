"""Running totals behind the dashboard: each member's work per project and day (``AnnotatorDay``:
answers submitted and skipped, their review states, answers begun from a prediction, lead times,
verdicts given) and the project's tasks per state with the answers waiting for a reviewer (columns of
the project row, beside its other totals).

Why: the leaderboard, the timeline and the backlog were grouped statements over every answer of the
project on each call (about 200, 70 and 150 ms at 300k answers); read from these rows they cost
O(members x days), and a write moves them in its own transaction, so the figures are never stale.

How a write keeps them: a task's contribution to every figure is a function of its rows alone (its
state, its answers, the verdicts on its answers; ``activity_before``). A service that changes tasks reads their
contribution under their row locks before the change (``activity_before``) and again after it
(``activity_after``); the difference moves the totals. ``activity_recount`` computes the same
function over a whole project, so stored totals and a recount can only disagree when a write path
skips these calls (tests/conftest.py checks every test's data against a recount).

Locking (annotation/services/counters.py): the member-day rows are written after the task rows and
the quality shards, in key order, and the project's columns go with the project totals, last.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotation.models import Annotation, AnnotatorDay, Project, Review, Task, TaskState
from annotation.services.counters import STATE_TOTALS, project_totals_add
from tessera import prepared

# The counters of a member-day row, in column order: of the member's answers, then of their verdicts.
ANSWER_FIELDS = ("submitted", "skipped", "accepted", "rejected", "fixed", "from_prediction", "unchanged")
DAY_FIELDS = (*ANSWER_FIELDS, "reviews", "reviews_accepted")
# The state columns by task state (unlabeled tasks are task_count less the others).
STATE_COLUMNS: dict[str, str] = {
    TaskState.IN_PROGRESS.value: "tasks_in_progress",
    TaskState.LABELED.value: "tasks_labeled",
    TaskState.IN_REVIEW.value: "tasks_in_review",
    TaskState.DONE.value: "tasks_done",
}
PROJECT_FIELDS = STATE_TOTALS
# Ids per statement (SQLite allows 32,766 parameters; each id is named twice).
IDS_PER_READ = 1000


def lead_bucket(seconds: float) -> str:
    """A lead time's key in a histogram: three significant figures, so that a member-day holds at
    most a few thousand keys however many answers it has, and a median read from them is within
    0.5% of the exact one (exact for times already given to three figures)."""
    return format(seconds, ".3g")


def median_of(histogram: dict[str, int]) -> float | None:
    """The median of the values a histogram counts (the mean of the two middle ones for an even
    count, as PostgreSQL's ``percentile_cont(0.5)``)."""
    items = sorted((float(key), count) for key, count in histogram.items() if count > 0)
    total = sum(count for _, count in items)
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]
    found: list[float] = []
    seen = 0
    for value, count in items:
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return (found[0] + found[1]) / 2


@dataclass
class Activity:
    """What some tasks contribute: counters and lead-time histograms per (member, day), and the
    project's columns."""

    days: defaultdict[tuple[int, date], Counter] = field(default_factory=lambda: defaultdict(Counter))
    leads: defaultdict[tuple[int, date], Counter] = field(default_factory=lambda: defaultdict(Counter))
    project: Counter = field(default_factory=Counter)

    def minus(self, other: "Activity") -> "Activity":
        delta = Activity()
        for mine, theirs, into in (
            (self.days, other.days, delta.days),
            (self.leads, other.leads, delta.leads),
        ):
            for key in mine.keys() | theirs.keys():
                cell = Counter(mine.get(key, {}))
                cell.subtract(theirs.get(key, {}))
                into[key] = cell
        delta.project = Counter(self.project)
        delta.project.subtract(other.project)
        return delta


def _day(value) -> date:
    """The server's day of a stored time (SQLite's driver may hand back text or a naive UTC value)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, datetime) and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return timezone.localdate(value)


def _accepted_sql() -> str:
    if connection.vendor == "postgresql":
        return "(a.\"prediction_changes\" ->> 'accepted') = 'true'"
    return "json_extract(a.\"prediction_changes\", '$.accepted') = 1"


# Each task once with each of its answers, then the verdicts on its answers: one round trip.
_READ_SQL = """
SELECT 0, t."id", t."state", a."id", a."completed_by_id", a."created_at", a."was_cancelled", a."review_state",
       a."lead_time", a."prediction_changes" IS NOT NULL, {accepted}
FROM "{task}" t LEFT JOIN "{annotation}" a ON a."task_id" = t."id"
WHERE {task_where}
UNION ALL
SELECT 1, a."task_id", NULL, r."id", r."reviewer_id", r."created_at", NULL, r."verdict", NULL, NULL, NULL
FROM "{review}" r JOIN "{annotation}" a ON a."id" = r."annotation_id"
WHERE {review_where}
"""


def _read_sql(task_where: str, review_where: str) -> str:
    return _READ_SQL.format(
        accepted=_accepted_sql(),
        task=Task._meta.db_table,
        annotation=Annotation._meta.db_table,
        review=Review._meta.db_table,
        task_where=task_where,
        review_where=review_where,
    )


def _fold(rows: Iterable[tuple], activity: Activity) -> None:
    """Add rows of ``_READ_SQL`` to ``activity``: every row of each task it names (a task's state is
    counted once per call, so a task's rows split over two calls would count it twice)."""
    states: dict[int, str] = {}
    waiting: Counter[int] = Counter()
    for (
        kind,
        task_id,
        state,
        row_id,
        user_id,
        created_at,
        cancelled,
        review_state,
        lead,
        changed,
        kept,
    ) in rows:
        if kind == 1:
            cell = activity.days[(user_id or 0, _day(created_at))]
            cell["reviews"] += 1
            if review_state == "accept":
                cell["reviews_accepted"] += 1
            continue
        states[task_id] = state
        if row_id is None:
            continue
        key = (user_id or 0, _day(created_at))
        cell = activity.days[key]
        if cancelled:
            cell["skipped"] += 1
            continue
        cell["submitted"] += 1
        if review_state != "submitted":
            cell[review_state] += 1
        else:
            waiting[task_id] += 1
        if changed:
            cell["from_prediction"] += 1
            if kept:
                cell["unchanged"] += 1
        if lead is not None:
            activity.leads[key][lead_bucket(lead)] += 1
    for task_id, state in states.items():
        column = STATE_COLUMNS.get(state)
        if column is not None:
            activity.project[column] += 1
        if state == TaskState.IN_REVIEW:
            activity.project["answers_to_review"] += waiting[task_id]


def activity_before(task_ids: Iterable[int]) -> Activity:
    """What these tasks contribute now; call it with their rows locked (``task_hold``, or the
    project's row for update), before changing them."""
    activity = Activity()
    ids = sorted(set(task_ids))
    with connection.cursor() as cursor:
        for start in range(0, len(ids), IDS_PER_READ):
            chunk = ids[start : start + IDS_PER_READ]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(_read_sql(f't."id" IN ({marks})', f'a."task_id" IN ({marks})'), [*chunk, *chunk])
            _fold(cursor.fetchall(), activity)
    return activity


def activity_after(project_id: int, task_ids: Iterable[int], before: Activity) -> None:
    """After the change: read the tasks again (a deleted one contributes nothing) and move the totals
    by the difference."""
    activity_write(project_id, activity_before(task_ids).minus(before))


def activity_recount(project_id: int) -> Activity:
    """The whole project's contribution, from its rows (for checks, a fix, and settings that move
    every task's state): grouped statements, so the database does the counting (a fold of every row
    in Python took 3.2 s at 300k answers); only lead times come back one per answer, for their
    buckets. Written apart from ``_fold``, the same figures by another road, which the checks compare."""
    activity = Activity()
    answers = Annotation.objects.filter(project_id=project_id).annotate(day=TruncDate("created_at"))
    submitted = Q(was_cancelled=False)
    grouped = answers.values("completed_by", "day").annotate(
        submitted=Count("id", filter=submitted),
        skipped=Count("id", filter=Q(was_cancelled=True)),
        accepted=Count("id", filter=submitted & Q(review_state="accepted")),
        rejected=Count("id", filter=submitted & Q(review_state="rejected")),
        fixed=Count("id", filter=submitted & Q(review_state="fixed")),
        from_prediction=Count("id", filter=submitted & Q(prediction_changes__isnull=False)),
        unchanged=Count("id", filter=submitted & Q(prediction_changes__accepted=True)),
    )
    for row in grouped.order_by():
        cell = activity.days[(row["completed_by"] or 0, row["day"])]
        cell.update({name: row[name] for name in ANSWER_FIELDS if row[name]})
    # One row per answer: run as plain SQL, since Django's per-row converters cost half the rebuild.
    leads = answers.filter(submitted, lead_time__isnull=False).values_list("completed_by", "day", "lead_time")
    sql, params = leads.order_by().query.get_compiler(connection=connection).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(10_000):
            for user_id, day, lead in rows:
                # SQLite's date function answers text.
                cell = activity.leads[
                    (user_id or 0, date.fromisoformat(day) if isinstance(day, str) else day)
                ]
                cell[lead_bucket(lead)] += 1
    reviews = (
        Review.objects.filter(project_id=project_id)
        .annotate(day=TruncDate("created_at"))
        .values("reviewer", "day")
        .annotate(reviews=Count("id"), reviews_accepted=Count("id", filter=Q(verdict="accept")))
    )
    for row in reviews.order_by():
        cell = activity.days[(row["reviewer"] or 0, row["day"])]
        cell.update({name: row[name] for name in ("reviews", "reviews_accepted") if row[name]})
    for state, count in (
        Task.objects.filter(project_id=project_id).values_list("state").annotate(n=Count("id")).order_by()
    ):
        column = STATE_COLUMNS.get(state)
        if column is not None:
            activity.project[column] += count
    waiting = answers.filter(submitted, review_state="submitted", task__state=TaskState.IN_REVIEW).count()
    if waiting:
        activity.project["answers_to_review"] = waiting
    return activity


_UPSERT_SQL = {
    "postgresql": """
INSERT INTO "{table}" ("project_id", "user_id", "day", {columns}, "lead_times")
VALUES (%s, %s, %s, {values}, %s::jsonb)
ON CONFLICT ("project_id", "user_id", "day") DO UPDATE SET {sums},
  "lead_times" = CASE WHEN EXCLUDED."lead_times" = '{{}}'::jsonb THEN "{table}"."lead_times" ELSE (
    SELECT COALESCE(jsonb_object_agg(k, n), '{{}}'::jsonb) FROM (
      SELECT k, SUM(n) AS n FROM (
        SELECT key AS k, value::text::bigint AS n FROM jsonb_each("{table}"."lead_times")
        UNION ALL SELECT key, value::text::bigint FROM jsonb_each(EXCLUDED."lead_times")
      ) s GROUP BY k HAVING SUM(n) <> 0
    ) g
  ) END
""",
    "sqlite": """
INSERT INTO "{table}" ("project_id", "user_id", "day", {columns}, "lead_times")
VALUES (%s, %s, %s, {values}, %s)
ON CONFLICT ("project_id", "user_id", "day") DO UPDATE SET {sums},
  "lead_times" = CASE WHEN excluded."lead_times" = '{{}}' THEN "{table}"."lead_times" ELSE (
    SELECT COALESCE(json_group_object(k, n), '{{}}') FROM (
      SELECT k, SUM(n) AS n FROM (
        SELECT key AS k, value AS n FROM json_each("{table}"."lead_times")
        UNION ALL SELECT key, value FROM json_each(excluded."lead_times")
      ) GROUP BY k HAVING SUM(n) <> 0
    )
  ) END
""",
}


def _upsert_sql() -> str:
    table = AnnotatorDay._meta.db_table
    excluded = "EXCLUDED" if connection.vendor == "postgresql" else "excluded"
    return _UPSERT_SQL[connection.vendor].format(
        table=table,
        columns=", ".join(f'"{name}"' for name in DAY_FIELDS),
        values=", ".join(["%s"] * len(DAY_FIELDS)),
        sums=", ".join(f'"{name}" = "{table}"."{name}" + {excluded}."{name}"' for name in DAY_FIELDS),
    )


def activity_write(project_id: int, delta: Activity, *, with_project: bool = True) -> Counter:
    """Add ``delta`` to the member-day rows (in key order, the locking rule's order between writers)
    and, unless ``with_project`` is False, to the project's columns (through ``project_totals_add``,
    so under ``project_totals_last`` they are written last). Returns the project's part."""
    import json

    rows: list[list] = []
    for key in sorted(delta.days.keys() | delta.leads.keys()):
        counts = delta.days.get(key, Counter())
        leads = {bucket: n for bucket, n in sorted(delta.leads.get(key, Counter()).items()) if n}
        values = [counts.get(name, 0) for name in DAY_FIELDS]
        if any(values) or leads:
            user_id, day = key
            rows.append([project_id, user_id, day.isoformat(), *values, json.dumps(leads)])
    if rows:
        sql = _upsert_sql()
        with connection.cursor() as cursor:
            for row in rows:
                cursor.execute(sql, row)
    project_part = Counter({name: delta.project.get(name, 0) for name in PROJECT_FIELDS})
    if with_project and any(project_part.values()):
        project_totals_add(project_id, **project_part)
    return project_part


# ---- whole-project changes ---------------------------------------------------------------------------


def project_states_recount(project: Project) -> None:
    """After a change that moved every task's state at once (the overlap, the review policy): the
    project's columns counted again, under the project's row lock, set-based."""
    recount = activity_recount(project.pk).project
    Project.objects.filter(pk=project.pk).update(**{name: recount.get(name, 0) for name in PROJECT_FIELDS})


def project_activity_clear(project_id: int) -> None:
    """Every task of the project is gone."""
    AnnotatorDay.objects.filter(project_id=project_id).delete()
    Project.objects.filter(pk=project_id).update(**dict.fromkeys(PROJECT_FIELDS, 0))


# ---- checks ------------------------------------------------------------------------------------------


def _stored(project_id: int) -> Activity:
    activity = Activity()
    for row in AnnotatorDay.objects.filter(project_id=project_id).values("user_id", "day", "lead_times",
                                                                          *DAY_FIELDS):  # fmt: skip
        key = (row["user_id"], row["day"])
        activity.days[key].update({name: row[name] for name in DAY_FIELDS})
        activity.leads[key].update(row["lead_times"] or {})
    project = Project.objects.filter(pk=project_id).values(*PROJECT_FIELDS).first() or {}
    activity.project.update(project)
    return activity


def activity_differences(project_id: int) -> list[str]:
    """Where the stored totals differ from a recount (empty when they agree)."""
    delta = _stored(project_id).minus(activity_recount(project_id))
    found = []
    for kind, cells in (("counts", delta.days), ("lead times", delta.leads)):
        for key, cell in sorted(cells.items()):
            wrong = {name: n for name, n in cell.items() if n}
            if wrong:
                found.append(f"project {project_id}, member {key[0]}, {key[1]}: {kind} off by {wrong}")
    wrong = {name: n for name, n in delta.project.items() if n}
    if wrong:
        found.append(f"project {project_id}: off by {wrong}")
    return found


def activity_fix(project_id: int) -> None:
    """Rebuild the project's totals from its rows (run with the project's row locked for update)."""
    activity_replace(project_id, activity_recount(project_id))


def activity_replace(project_id: int, recount: Activity) -> None:
    """Store ``recount`` as the project's totals, in place of the stored ones (under the project's row
    lock, taken before the recount was read)."""
    AnnotatorDay.objects.filter(project_id=project_id).delete()
    activity_write(project_id, recount, with_project=False)
    Project.objects.filter(pk=project_id).update(
        **{name: recount.project.get(name, 0) for name in PROJECT_FIELDS}
    )


# ---- imports -----------------------------------------------------------------------------------------


def activity_imported(
    activity: Activity, *, answers: Iterable[tuple], tasks_by_state: dict[str, tuple[int, int]], day: date
) -> None:
    """Add what an import batch writes, from its checked rows rather than read back: ``answers`` as
    the import checks them (position, author, result, was_cancelled, ground_truth, lead_time), all
    created on ``day`` and none reviewed or begun from a prediction; ``tasks_by_state``: per state, the
    batch's tasks in it and their submitted answers."""
    for _position, author, _result, cancelled, _truth, lead in answers:
        key = (author or 0, day)
        if cancelled:
            activity.days[key]["skipped"] += 1
            continue
        activity.days[key]["submitted"] += 1
        if lead is not None:
            activity.leads[key][lead_bucket(lead)] += 1
    for state, (tasks, submitted) in tasks_by_state.items():
        column = STATE_COLUMNS.get(state)
        if column is not None:
            activity.project[column] += tasks
        if state == TaskState.IN_REVIEW:
            activity.project["answers_to_review"] += submitted


# ---- a new answer --------------------------------------------------------------------------------------

_WAITING_SQL = (
    f'SELECT COUNT(*) FROM "{Annotation._meta.db_table}" WHERE "task_id" = %s AND NOT "was_cancelled" '
    f"AND \"review_state\" = 'submitted'"
)


def activity_answer_added(annotation: Annotation, *, state_before: str, state_after: str) -> None:
    """``annotation_create``'s change, without reading the task twice (the hot path: the two reads of
    ``activity_before``/``activity_after`` cost about a quarter of a submit): the new answer's cell,
    and the task's move between states read under its row lock. Only when the task is or becomes in
    review does the count of its answers waiting for a reviewer matter; it is read then, fresh (the
    new answer, unreviewed, is among them)."""
    delta = Activity()
    key = (annotation.completed_by_id or 0, _day(annotation.created_at))
    if annotation.was_cancelled:
        delta.days[key]["skipped"] += 1
    else:
        delta.days[key]["submitted"] += 1
        if annotation.prediction_changes is not None:
            delta.days[key]["from_prediction"] += 1
            if annotation.prediction_changes.get("accepted") is True:
                delta.days[key]["unchanged"] += 1
        if annotation.lead_time is not None:
            delta.leads[key][lead_bucket(annotation.lead_time)] += 1
    if state_before != state_after:
        for state, sign in ((state_before, -1), (state_after, 1)):
            column = STATE_COLUMNS.get(state)
            if column is not None:
                delta.project[column] += sign
    if TaskState.IN_REVIEW in (state_before, state_after):
        with connection.cursor() as cursor:
            prepared.execute(cursor, "review_waiting", _WAITING_SQL, [annotation.task_id])
            waiting_after = cursor.fetchone()[0]
        new = 0 if annotation.was_cancelled else 1
        before = waiting_after - new if state_before == TaskState.IN_REVIEW else 0
        after = waiting_after if state_after == TaskState.IN_REVIEW else 0
        delta.project["answers_to_review"] += after - before
    activity_write(annotation.project_id, delta)
