"""The labeling stream: hand each annotator a task that still needs them, and hold it with a lock.

On PostgreSQL the candidate row is taken with ``FOR UPDATE SKIP LOCKED``:
two annotators asking at the same instant never get the same task, and
neither waits for the other. SQLite serialises writers (transactions open
with BEGIN IMMEDIATE), which gives the same guarantee on the demo.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from annotation.models import Annotation, Draft, Project, Sampling, Task, TaskLock
from annotation.selectors import task_held_id
from annotation.services.counters import project_hold
from tessera.errors import NotFound
from tessera.models import User

_CANDIDATE_SQL = """
SELECT t."id", t."inner_id" FROM "{task}" t
WHERE t."project_id" = %s AND t."is_labeled" = %s AND t."inner_id" >= %s
  AND NOT EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = t."id" AND a."completed_by_id" = %s)
  AND t."total_annotations" + (
      SELECT COUNT(*) FROM "{lock}" l WHERE l."task_id" = t."id" AND l."user_id" <> %s AND l."expires_at" > %s
  ) < %s
ORDER BY t."inner_id"
LIMIT 1
"""


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


def _sql(template: str) -> str:
    tables = {
        "task": Task._meta.db_table,
        "annotation": Annotation._meta.db_table,
        "lock": TaskLock._meta.db_table,
    }
    return template.format(**tables)


def _candidate(project: Project, user: User, *, start_inner_id: int, now) -> tuple[int, int] | None:
    """(id, inner_id) of the first task from ``start_inner_id`` that still needs this caller."""
    overlap = project.maximum_annotations
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(_CANDIDATE_SQL), [project.pk, False, start_inner_id, user.pk, user.pk, now, overlap]
            )
            row = cursor.fetchone()
        return (row[0], row[1]) if row else None
    # The candidate query reads locks and annotations as of its start. A caller who took a task and
    # committed while this query ran releases the row lock before we reach the row, so SKIP LOCKED
    # does not skip it, yet this query's snapshot misses their TaskLock. Once we hold the row lock,
    # a fresh statement sees every commit that came before it: check again, and move on if taken.
    sql = _sql(_CANDIDATE_SQL).replace("ORDER BY", 'AND NOT (t."id" = ANY(%s))\nORDER BY')
    sql += " FOR UPDATE OF t SKIP LOCKED"
    passed_over: list[int] = []
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                sql, [project.pk, False, start_inner_id, user.pk, user.pk, now, overlap, passed_over]
            )
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(_sql(_STILL_OPEN_SQL), [row[0], False, user.pk, user.pk, now, overlap])
            if cursor.fetchone() is not None:
                return row[0], row[1]
            passed_over.append(row[0])


def _held_task(project: Project, user: User, *, now) -> int | None:
    """A task this user already holds and has not finished, so a reload resumes it."""
    return task_held_id(project=project, user=user, now=now)


DRAFTS_TO_TRY = 3


def _drafted_task(project: Project, user: User, *, now) -> int | None:
    """A task with the user's unsubmitted draft that still needs them, so a reload after the lock was
    let go (the page releases it on leave) brings back the work in progress, even on random sampling."""
    drafted = (
        Draft.objects.filter(
            user=user, task__project=project, annotation__isnull=True, task__is_labeled=False
        )
        .order_by("-updated_at")
        .values_list("task_id", flat=True)[:DRAFTS_TO_TRY]
    )
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
            cursor.execute(_sql(_STILL_OPEN_SQL), [task_id, False, user.pk, user.pk, now, overlap])
            if cursor.fetchone() is not None:
                return task_id
    return None


def _lock(task_id: int, user: User, *, now) -> None:
    expires_at = now + timedelta(seconds=settings.TESSERA_TASK_LOCK_SECONDS)
    # An annotator holds one task at a time; taking a new one lets go of the old.
    TaskLock.objects.filter(user=user).exclude(task_id=task_id).delete()
    # One INSERT … ON CONFLICT DO UPDATE where update_or_create takes a savepoint, a SELECT
    # and an UPDATE or INSERT: four round trips on every /next.
    TaskLock.objects.bulk_create(
        [TaskLock(task_id=task_id, user=user, expires_at=expires_at)],
        update_conflicts=True,
        unique_fields=["task", "user"],
        update_fields=["expires_at"],
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


@transaction.atomic
def next_task(*, project: Project, user: User) -> Task:
    now = timezone.now()
    task_id = _held_task(project, user, now=now) or _drafted_task(project, user, now=now)
    if task_id is None:
        sequential = project.sampling != Sampling.UNIFORM
        start = _scan_start(project, user) if sequential else 1
        if not sequential and project.task_counter > 1:
            # A random starting point over the inner_id range, then wrap to the beginning:
            # uniform enough for sampling, and it reads one index range instead of sorting by random().
            start = random.randint(1, project.task_counter)
        found = _candidate(project, user, start_inner_id=start, now=now)
        if found is None and start > 1:
            # Nothing after the starting point: look from the first task before answering 404.
            start = 1
            found = _candidate(project, user, start_inner_id=1, now=now)
        if found is not None:
            task_id = found[0]
            if sequential:
                _remember_scan_start(project, user, scanned_from=start, found_inner_id=found[1])
    if task_id is None:
        raise NotFound("No more tasks to label in this project for you.", code="no_more_tasks")
    _lock(task_id, user, now=now)
    return Task.objects.get(pk=task_id)


LOCK_LOST_MESSAGE = (
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
        raise NotFound("Task not found.")
    lock = TaskLock.objects.select_for_update().filter(task=task, user=user).first()
    if lock is None:
        raise NotFound(LOCK_LOST_MESSAGE, code="lock_lost")
    if lock.expires_at <= now:
        others = TaskLock.objects.filter(task=task, expires_at__gt=now).exclude(user=user).count()
        if row + others >= overlap:
            raise NotFound(LOCK_LOST_MESSAGE, code="lock_lost")
    lock.expires_at = now + timedelta(seconds=settings.TESSERA_TASK_LOCK_SECONDS)
    lock.save(update_fields=["expires_at"])
    return lock


@transaction.atomic
def task_lock_release(*, task: Task, user: User) -> None:
    TaskLock.objects.filter(task=task, user=user).delete()
