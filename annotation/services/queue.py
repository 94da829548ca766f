"""The labeling stream: hand each annotator a task that still needs them, and hold it with a lock.

On PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP LOCKED``:
two annotators asking at the same instant never get the same task, and
neither waits for the other. SQLite serialises writers (transactions open
with BEGIN IMMEDIATE), which gives the same guarantee on the demo.
"""

import functools
import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from annotation.models import Annotation, AnnotatorGold, Draft, Project, ReviewState, Sampling, Task, TaskLock
from annotation.selectors import TASK_ROWS
from annotation.services.counters import project_hold
from tessera import prepared
from tessera.errors import Conflict, NotFound
from tessera.models import User
from tessera.rows import db_datetime

# The statements of /next are written out rather than built with the ORM: every annotator runs them
# after every answer, and building them cost more CPU than running them (see tessera/rows.py).

# What the caller holds and has drafted, in one statement: the task of this project they hold a live
# lock on, have not answered and that still needs an answer (a reload resumes it; a task others
# filled meanwhile is not handed back, its submit would only be refused); their latest drafted open
# tasks of this project; the tasks they hold a lock on anywhere (at most two: whether one other
# than the task handed out is left to let go of); and the first task of this project where a reviewer
# rejected their answer (the queue hands it back to them before new work; annotation/services/states.py).
_HELD_DRAFTED_LOCKED_SQL = """
SELECT 'held', h."task_id" FROM (
  SELECT l."task_id" FROM "{lock}" l JOIN "{task}" t ON t."id" = l."task_id"
  WHERE l."user_id" = %s AND t."project_id" = %s AND t."is_labeled" = %s AND l."expires_at" > %s
    AND NOT EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = l."task_id" AND a."completed_by_id" = %s)
  ORDER BY l."id" LIMIT 1
) h
UNION ALL
SELECT 'drafted', d."task_id" FROM (
  SELECT d."task_id" FROM "{draft}" d JOIN "{task}" t ON t."id" = d."task_id"
  WHERE d."user_id" = %s AND t."project_id" = %s AND d."annotation_id" IS NULL AND t."is_labeled" = %s
  ORDER BY d."updated_at" DESC LIMIT %s
) d
UNION ALL
SELECT 'locked', k."task_id" FROM (SELECT l."task_id" FROM "{lock}" l WHERE l."user_id" = %s LIMIT 2) k
UNION ALL
SELECT 'rejected', r."task_id" FROM (
  SELECT a."task_id" FROM "{annotation}" a
  WHERE a."project_id" = %s AND a."review_state" = %s AND a."completed_by_id" = %s AND NOT a."was_cancelled"
  ORDER BY a."id" LIMIT 1
) r
"""

_CANDIDATE_SQL = """
SELECT {task_columns} FROM "{task}" t
WHERE t."project_id" = %s AND t."is_labeled" = %s AND t."inner_id" >= %s
  AND NOT EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = t."id" AND a."completed_by_id" = %s)
  AND t."total_annotations" + (
      SELECT COUNT(*) FROM "{lock}" l WHERE l."task_id" = t."id" AND l."user_id" <> %s AND l."expires_at" > %s
  ) < %s
ORDER BY t."inner_id"
LIMIT 1
"""

# Uncertainty sampling (active learning): the same candidates, the least certain first. The order is
# the partial index task_queue_uncertain (project_id, uncertainty DESC NULLS LAST, inner_id WHERE NOT
# is_labeled), so the first row comes off the index whatever the project's size; tasks no model has
# scored (null) come last, in import order. The statement says NOT is_labeled as a literal, with no
# inner_id bound: SQLite uses a partial index only when the query's own text implies its condition,
# and a range on inner_id makes it pick the (project_id, inner_id) index and sort. SQLite's DESC
# already puts NULLs last (and its index cannot say NULLS LAST), so there the clause is left out.
_UNCERTAIN_CANDIDATE_SQL = _CANDIDATE_SQL.replace(
    't."is_labeled" = %s AND t."inner_id" >= %s', 'NOT t."is_labeled"'
).replace('ORDER BY t."inner_id"', 'ORDER BY t."uncertainty" DESC NULLS LAST, t."inner_id"')
_UNCERTAIN_CANDIDATE_SQLITE = _UNCERTAIN_CANDIDATE_SQL.replace(" DESC NULLS LAST", " DESC")


def uncertain_candidate_sql() -> str:
    """The uncertainty order's candidate statement for this database (see _UNCERTAIN_CANDIDATE_SQL)."""
    return _UNCERTAIN_CANDIDATE_SQL if connection.vendor == "postgresql" else _UNCERTAIN_CANDIDATE_SQLITE


# The first open task the caller has not answered, ignoring locks: where their next scan may start.
_FIRST_UNANSWERED_SQL = """
SELECT t."inner_id" FROM "{task}" t
WHERE t."project_id" = %s AND t."is_labeled" = %s AND t."inner_id" >= %s AND t."inner_id" <= %s
  AND NOT EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = t."id" AND a."completed_by_id" = %s)
ORDER BY t."inner_id"
LIMIT 1
"""


_STILL_OPEN_SQL = """
SELECT 1 FROM "{task}" t
WHERE t."id" = %s AND t."is_labeled" = %s
  AND NOT EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = t."id" AND a."completed_by_id" = %s)
  AND t."total_annotations" + (
      SELECT COUNT(*) FROM "{lock}" l WHERE l."task_id" = t."id" AND l."user_id" <> %s AND l."expires_at" > %s
  ) < %s
"""


_TASK_SQL = """SELECT {task_columns} FROM "{task}" t WHERE t."id" = %s"""

# Gold tasks mixed into the queue: the first the caller has not answered, on the partial index
# task_project_gold (project_id, inner_id WHERE is_gold). Neither overlap nor others' locks limit a
# gold task (every annotator answers it), so no row lock is needed: the caller's TaskLock is enough.
_GOLD_CANDIDATE_SQL = """
SELECT {task_columns} FROM "{task}" t
WHERE t."project_id" = %s AND t."is_gold"
  AND NOT EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = t."id" AND a."completed_by_id" = %s)
ORDER BY t."inner_id"
LIMIT 1
"""

_GOLD_STATE_SQL = """
SELECT "answers", "gold_answers", "paused" FROM "{gold_state}" WHERE "project_id" = %s AND "user_id" = %s
"""

_RELEASE_OTHERS_SQL = """DELETE FROM "{lock}" WHERE "user_id" = %s AND "task_id" <> %s"""

# One INSERT … ON CONFLICT DO UPDATE where update_or_create takes a savepoint, a SELECT and an
# UPDATE or INSERT (both databases know the clause).
_LOCK_UPSERT_SQL = """
INSERT INTO "{lock}" ("task_id", "user_id", "expires_at") VALUES (%s, %s, %s)
ON CONFLICT ("task_id", "user_id") DO UPDATE SET "expires_at" = excluded."expires_at"
"""


@functools.cache
def _sql(template: str) -> str:
    tables = {
        "task": Task._meta.db_table,
        "annotation": Annotation._meta.db_table,
        "lock": TaskLock._meta.db_table,
        "draft": Draft._meta.db_table,
        "gold_state": AnnotatorGold._meta.db_table,
        "task_columns": TASK_ROWS.columns("t"),
    }
    return template.format(**tables)


def _candidate(project: Project, user: User, *, start_inner_id: int, now) -> Task | None:
    """The first task from ``start_inner_id`` that still needs this caller (on PostgreSQL locked
    for update, so the row read is the one committed last and stays so until this transaction ends).
    With uncertainty sampling, "first" is the least certain (start_inner_id is then 1)."""
    overlap = project.maximum_annotations
    if project.sampling == Sampling.UNCERTAINTY:
        template, where = uncertain_candidate_sql(), [project.pk]
    else:
        template, where = _CANDIDATE_SQL, [project.pk, False, start_inner_id]
    params = [*where, user.pk, user.pk, now, overlap]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_sql(template), params)
            row = cursor.fetchone()
        return TASK_ROWS.build(row) if row else None
    # The candidate query reads locks and annotations as of its start. A caller who took a task and
    # committed while this query ran releases the row lock before we reach the row, so SKIP LOCKED
    # does not skip it, yet this query's snapshot misses their TaskLock. Once we hold the row lock,
    # a fresh statement sees every commit that came before it: check again, and move on if taken.
    sql = _sql(template).replace("ORDER BY", 'AND NOT (t."id" = ANY(%s))\nORDER BY')
    sql += " FOR UPDATE OF t SKIP LOCKED"
    passed_over: list[int] = []
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [*params, passed_over])
            row = cursor.fetchone()
            if row is None:
                return None
            task = TASK_ROWS.build(row)
            prepared.execute(
                cursor, "still_open", _sql(_STILL_OPEN_SQL), [task.pk, False, user.pk, user.pk, now, overlap]
            )
            if cursor.fetchone() is not None:
                return task
            passed_over.append(task.pk)


DRAFTS_TO_TRY = 3


@dataclass
class _CallerQueue:
    """What the caller holds, has drafted and has had rejected, read in one statement."""

    held: int | None = None
    drafted: list[int] = field(default_factory=list)
    locked: list[int] = field(default_factory=list)
    rejected: int | None = None


def _held_drafted_locked(project: Project, user: User, *, now) -> _CallerQueue:
    """(the task the caller holds in this project, their latest drafted open tasks, the tasks they hold
    a lock on anywhere, at most two, their first rejected task here): see _HELD_DRAFTED_LOCKED_SQL."""
    found = _CallerQueue()
    with connection.cursor() as cursor:
        # Not prepared: its ORDER BY … LIMIT branches filter on values (review state, expiry) whose
        # selectivity only a plan made for the values knows; the generic plan walked the annotations'
        # primary key (1.2 s at 1M tasks). See tessera/prepared.py.
        cursor.execute(
            _sql(_HELD_DRAFTED_LOCKED_SQL),
            [user.pk, project.pk, False, now, user.pk, user.pk, project.pk, False, DRAFTS_TO_TRY, user.pk,
             project.pk, ReviewState.REJECTED, user.pk],
        )  # fmt: skip
        for kind, task_id in cursor.fetchall():
            if kind == "held":
                found.held = task_id
            elif kind == "drafted":
                found.drafted.append(task_id)
            elif kind == "rejected":
                found.rejected = task_id
            else:
                found.locked.append(task_id)
    return found


def _drafted_task(project: Project, user: User, drafted: list[int], *, now) -> int | None:
    """A task with the user's unsubmitted draft that still needs them, so a reload after the lock was
    let go (the page releases it on leave) brings back the work in progress, even on random sampling."""
    overlap = project.maximum_annotations
    with connection.cursor() as cursor:
        for task_id in drafted:
            if connection.vendor == "postgresql":
                # Hold the row as _candidate does, so a concurrent caller cannot take it meanwhile.
                cursor.execute(
                    f'SELECT 1 FROM "{Task._meta.db_table}" WHERE "id" = %s FOR UPDATE SKIP LOCKED', [task_id]
                )
                if cursor.fetchone() is None:
                    continue
            prepared.execute(
                cursor, "still_open", _sql(_STILL_OPEN_SQL), [task_id, False, user.pk, user.pk, now, overlap]
            )
            if cursor.fetchone() is not None:
                return task_id
    return None


def _lock(task_id: int, user: User, *, now, locked: list[int]) -> None:
    """Lock ``task_id`` for the caller; ``locked`` is what they held when this transaction began."""
    expires_at = now + timedelta(seconds=settings.TESSERA_TASK_LOCK_SECONDS)
    with connection.cursor() as cursor:
        # An annotator holds one task at a time; taking a new one lets go of the old (after a submit,
        # which ends the hold, there is none, and no DELETE to run).
        if any(other != task_id for other in locked):
            prepared.execute(cursor, "release_others", _sql(_RELEASE_OTHERS_SQL), [user.pk, task_id])
        prepared.execute(
            cursor, "lock_upsert", _sql(_LOCK_UPSERT_SQL), [task_id, user.pk, db_datetime(expires_at)]
        )


# Below this many inner ids between a scan's start and its find, the walk is cheap: nothing is stored.
SCAN_HINT_MIN_DISTANCE = 64


def _scan_hint_key(project: Project, user: User) -> str:
    return f"next-scan-start:{project.pk}:{project.created_at.timestamp()}:{user.pk}"


def _scan_start(project: Project, user: User) -> int:
    """Where the sequential scan for this caller begins: 1, or past the open tasks they have answered.

    With overlap, open tasks the caller already answered stay in the unlabeled index until others
    answer them too; an annotator ahead of the rest made every /next walk all of them (a NOT EXISTS
    probe each), so the call grew with their own work. The hint says "every open task before this
    inner id was answered by this caller" when it was stored. Only a deleted annotation or a raised
    overlap can make that untrue, so it lives for one lock period; and a scan that finds nothing
    after it starts again from 1 before answering 404, so no task is ever lost to it.
    """
    return cache.get(_scan_hint_key(project, user)) or 1


def _remember_scan_start(project: Project, user: User, *, scanned_from: int, found_inner_id: int) -> None:
    if found_inner_id - scanned_from < SCAN_HINT_MIN_DISTANCE:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _sql(_FIRST_UNANSWERED_SQL), [project.pk, False, scanned_from, found_inner_id, user.pk]
        )
        row = cursor.fetchone()
    # Tasks locked by others are open and unanswered, so the hint stops at the first of them.
    hint = row[0] if row else found_inner_id
    cache.set(_scan_hint_key(project, user), hint, timeout=settings.TESSERA_TASK_LOCK_SECONDS)


def _draft_list(task: Task, user: User, *, drafted: list[int]) -> list[Draft]:
    """The caller's draft of the task handed out, as a list of at most one. ``drafted`` lists their
    latest drafted open tasks (this task is open): when it is shorter than it may be and lacks this
    task, the caller has no draft of it, and nothing needs reading."""
    if task.pk not in drafted and len(drafted) < DRAFTS_TO_TRY:
        return []
    return list(Draft.objects.filter(task=task, user=user, annotation__isnull=True).order_by("-id")[:1])


QUEUE_PAUSED_MESSAGE = gettext_noop(
    "Your queue in this project is paused: your score on gold (test) tasks fell below the project's floor. "
    "A project manager can resume it."
)


def _gold_pace(project: Project, user: User) -> bool:
    """Whether the next task should be gold (one indexed read, made only in projects that use gold):
    while the caller's gold answers are below ``gold_ratio`` of their answers, counting this one.
    Refuses (409 ``queue_paused``) a caller the project's gold floor paused."""
    if project.gold_ratio <= 0 and not project.gold_floor_pauses_queue:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_sql(_GOLD_STATE_SQL), [project.pk, user.pk])
        row = cursor.fetchone()
    answers, gold_answers, paused = row if row else (0, 0, False)
    if paused and project.gold_floor_pauses_queue:
        raise Conflict(_(QUEUE_PAUSED_MESSAGE), code="queue_paused")
    return project.gold_ratio > 0 and gold_answers + 1 <= project.gold_ratio * (answers + 1)


def _gold_candidate(project: Project, user: User) -> Task | None:
    with connection.cursor() as cursor:
        cursor.execute(_sql(_GOLD_CANDIDATE_SQL), [project.pk, user.pk])
        row = cursor.fetchone()
    return TASK_ROWS.build(row) if row else None


@transaction.atomic
def next_task(*, project: Project, user: User) -> Task:
    """The task to hand the caller, locked for them, with ``draft_list``: their draft of it (0 or 1)."""
    now = timezone.now()
    at = db_datetime(now)
    wants_gold = _gold_pace(project, user)
    caller = _held_drafted_locked(project, user, now=at)
    drafted, locked = caller.drafted, caller.locked
    task = None
    # A task held comes first (work in progress), then one a reviewer sent back to the caller.
    task_id = caller.held or caller.rejected or _drafted_task(project, user, drafted, now=at)
    if task_id is None and wants_gold:
        # A gold task when the pace asks for one and one is left that the caller has not answered;
        # otherwise the ordinary queue.
        task = _gold_candidate(project, user)
    if task is None and task_id is None:
        # Uncertainty sampling walks its own index from the top: neither a random start nor the
        # sequential scan hint (an inner id) applies to an order by score.
        sequential = project.sampling == Sampling.SEQUENTIAL
        start = _scan_start(project, user) if sequential else 1
        if project.sampling == Sampling.UNIFORM and project.task_counter > 1:
            # A random starting point over the inner_id range, then wrap to the beginning:
            # uniform enough for sampling, and it reads one index range instead of sorting by random().
            start = random.randint(1, project.task_counter)
        task = _candidate(project, user, start_inner_id=start, now=at)
        if task is None and start > 1:
            # Nothing after the starting point: look from the first task before answering 404.
            start = 1
            task = _candidate(project, user, start_inner_id=1, now=at)
        if task is None:
            raise NotFound(_("No more tasks to label in this project for you."), code="no_more_tasks")
        if sequential:
            _remember_scan_start(project, user, scanned_from=start, found_inner_id=task.inner_id)
    elif task is None:
        with connection.cursor() as cursor:
            prepared.execute(cursor, "next_task_row", _sql(_TASK_SQL), [task_id])
            task = TASK_ROWS.build(cursor.fetchone())
    _lock(task.pk, user, now=now, locked=locked)
    task.draft_list = _draft_list(task, user, drafted=drafted)
    if task_id is not None and task_id == caller.rejected and task_id != caller.held:
        # Not a field (like draft_list): the output shows the reviewer's reason with the task.
        from annotation.services.review import rejection_for

        setattr(task, "rejection", rejection_for(task_id=task_id, user=user))  # noqa: B010
    return task


LOCK_LOST_MESSAGE = gettext_noop(
    "You do not hold this task: your lock expired and another annotator took it, or you never had it."
)


@transaction.atomic
def task_lock_renew(*, task: Task, user: User) -> TaskLock:
    """Extend the caller's own lock. It never takes a task: that is /next's job, which honours
    sampling, overlap and the caller's earlier answers (a POST here used to lock any open task).

    Answers 404 ``lock_lost`` (the code the labeling page acts on) when the caller holds no lock on
    the task, or when theirs lapsed and others now fill the task's places. A lapsed lock that nobody
    replaced is renewed: the annotator kept the page open and nobody was waiting for the task.
    """
    now = timezone.now()
    # The locking rule of annotation/services/counters.py (project shared, then the task row): a
    # renew and a /next of another annotator that both see the lapsed lock cannot both win the
    # last place, and a project delete waits for the renew instead of deadlocking with it.
    overlap = project_hold(task.project_id)
    row = (
        Task.objects.select_for_update()
        .filter(pk=task.pk)
        .values_list("total_annotations", flat=True)
        .first()
    )
    if row is None:
        raise NotFound(_("Task not found."))
    lock = TaskLock.objects.select_for_update().filter(task=task, user=user).first()
    if lock is None:
        raise NotFound(_(LOCK_LOST_MESSAGE), code="lock_lost")
    if lock.expires_at <= now:
        others = TaskLock.objects.filter(task=task, expires_at__gt=now).exclude(user=user).count()
        if row + others >= overlap:
            raise NotFound(_(LOCK_LOST_MESSAGE), code="lock_lost")
    lock.expires_at = now + timedelta(seconds=settings.TESSERA_TASK_LOCK_SECONDS)
    lock.save(update_fields=["expires_at"])
    return lock


@transaction.atomic
def task_lock_release(*, task: Task, user: User) -> None:
    TaskLock.objects.filter(task=task, user=user).delete()
