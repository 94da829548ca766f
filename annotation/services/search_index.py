"""Full-text search rows (``TaskSearchText``), written after imports commit instead of inside them.

The data table's text filter (annotation/task_query.py) reads, for a project with watermark ``W``
(``Project.search_indexed_through_id``): the trigram hits among the project's search rows, plus the
tasks above ``W`` scanned directly. So results are exact whether or not the job has run; the job only
keeps the scanned tail short. The invariant the filter relies on: **every task of the project with an
id up to W has its search row, holding its data as text.**

What keeps it:

* A task edit (``task_search_text_refresh``) rewrites its row in the edit's transaction (one upsert).
* Deletes remove rows with their tasks (the one-to-one's cascade, or the raw deletes' child list).
* The job (``task_search_index``) inserts the rows of tasks above W in id-ordered batches
  (``INSERT … SELECT … ON CONFLICT DO NOTHING``: safe to run twice, and an edit's newer text wins),
  then moves W up to the batch's last id. The race it must not lose: task ids come from one
  sequence while an import writes, so an import still in flight may hold ids *below* tasks that
  another import already committed. Imports therefore hold a shared advisory lock on the project
  for their write transaction (``search_index_hold``, one statement), and W moves only in a short
  transaction holding that lock exclusively (taken with try: an import is never made to wait on
  the job for more than that transaction), after a last check that inserts any row still missing in
  the range (tasks committed since the batch read). With no import in flight, every task that will
  ever have an id up to W is committed and visible. When the lock is busy the job goes on indexing
  and leaves W where it was; the import's own commit enqueues the job again.
* The job is enqueued on commit of every import (``search_index_enqueue``); a lost message is caught
  by the beat's sweep (``task_search_sweep``): projects whose ``task_layout_version`` (raised by every
  committed import and delete) moved since the last complete run.

It is background work that must not hold up imports on the same worker (the demo runs one): an import
enqueues a message only when none waits for the project (a key in the shared cache, cleared when a run
starts), and a run stops after ``TESSERA_SEARCH_INDEX_RUN_SECONDS`` and queues its own continuation, so
an import job queued meanwhile runs next instead of after every task of the project is indexed (the
1M benchmark's background import had waited about 350 s behind 40 imports' worth of indexing). It
stops sooner, after the batch in hand, when an import job or a dataset build is waiting for a worker
(one created in the last ``IMPORT_WAITING_WINDOW``; an older one is the reaper's): on one worker the job
then waits one batch, not a whole run (the 1M benchmark's background import had waited two runs, about
20 s; a dataset build right after a 200k-task import waited 11 s).

SQLite has no search rows: its text filter is a LIKE scan, and the job is a no-op there.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from annotation.models import ImportJob, JobState, Project, Task, TaskSearchText

logger = logging.getLogger(__name__)

TASK = Task._meta.db_table
SEARCH = TaskSearchText._meta.db_table
PROJECT = Project._meta.db_table

# An import job created this recently and still waiting for a worker makes an indexing run stop early.
IMPORT_WAITING_WINDOW = timedelta(minutes=10)

# Advisory lock keys: a namespace in the high 32 bits, the project's id in the low ones (ids that
# differ by 2**32 share a key, which costs a wait, never a wrong result).
_IMPORT_LOCK_NAMESPACE = 0x5E4C
_RUN_LOCK_NAMESPACE = 0x5E4D


def _key(namespace: int, project_id: int) -> int:
    value = (namespace << 32) | (project_id & 0xFFFFFFFF)
    return value - (1 << 64) if value >= 1 << 63 else value


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def search_index_hold(project_id: int) -> None:
    """In an import's write transaction, before its first task row: the shared side of the lock that
    moving the watermark takes exclusively (see the module's docstring). Released at commit."""
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s)", [_key(_IMPORT_LOCK_NAMESPACE, project_id)]
            )


def task_search_text_refresh(task_id: int) -> None:
    """A task's search row as its data now stands, in the caller's transaction (a task edit)."""
    if not _postgres():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{SEARCH}" ("task_id", "project_id", "text") '
            f'SELECT "id", "project_id", "data"::text FROM "{TASK}" WHERE "id" = %s '
            'ON CONFLICT ("task_id") DO UPDATE SET "text" = EXCLUDED."text"',
            [task_id],
        )


def search_index_enqueue(project_id: int) -> None:
    """Queue the job for ``project_id`` once the caller's transaction commits (an import)."""
    if _postgres():
        transaction.on_commit(partial(search_index_send_once, project_id))


def _pending_key(project_id: int) -> str:
    return f"search-index-pending:{project_id}"


def search_index_send_once(project_id: int) -> None:
    """Queue the job unless a message for the project waits already: that one indexes from the
    watermark up, so it covers these tasks too. The key expires, so a lost message blocks nothing for
    long (and the sweep sends regardless)."""
    try:
        fresh = cache.add(_pending_key(project_id), 1, timeout=settings.TESSERA_SEARCH_INDEX_PENDING_SECONDS)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: without it, send as before
        logger.warning("Search indexing of project %s: the cache is unreachable", project_id, exc_info=True)
        fresh = True
    if fresh:
        _send(project_id)


def _pending_clear(project_id: int) -> None:
    try:
        cache.delete(_pending_key(project_id))
    except Exception:  # noqa: BLE001 - see search_index_send_once
        logger.warning("Search indexing of project %s: the cache is unreachable", project_id, exc_info=True)


def _send(project_id: int) -> None:
    from annotation.tasks import index_task_search

    try:
        index_task_search.delay(project_id)
    except BrokerUnreachable as exc:
        # Search stays exact (the filter scans unindexed tasks); the sweep indexes them later.
        logger.warning("Search indexing of project %s could not be queued: %s", project_id, exc)


@dataclass
class SearchIndexReport:
    project_id: int
    indexed: int = 0
    through_id: int = 0
    complete: bool = False
    skipped: bool = False  # another run holds the project
    more: bool = False  # stopped at the run's time limit with tasks left: a continuation is due


# One batch: the next tasks above the cursor, inserted, and the batch's last id and size.
_BATCH_SQL = f"""
WITH batch AS (
  SELECT "id", "project_id", "data"::text AS "text" FROM "{TASK}"
  WHERE "project_id" = %s AND "id" > %s ORDER BY "id" LIMIT %s
), inserted AS (
  INSERT INTO "{SEARCH}" ("task_id", "project_id", "text") SELECT "id", "project_id", "text" FROM batch
  ON CONFLICT ("task_id") DO NOTHING RETURNING 1
)
SELECT MAX("id"), COUNT(*), (SELECT COUNT(*) FROM inserted) FROM batch
"""

# Under the exclusive lock: rows still missing between the watermark and the batch's end (tasks of an
# import that committed after the batch was read, with lower ids). An index range and a probe per task.
_MISSING_SQL = f"""
INSERT INTO "{SEARCH}" ("task_id", "project_id", "text")
SELECT t."id", t."project_id", t."data"::text FROM "{TASK}" t
WHERE t."project_id" = %s AND t."id" > %s AND t."id" <= %s
  AND NOT EXISTS (SELECT 1 FROM "{SEARCH}" s WHERE s."task_id" = t."id")
ON CONFLICT ("task_id") DO NOTHING
"""


def _advance(project_id: int, through: int, high: int) -> tuple[bool, int]:
    """Move the watermark from ``through`` to ``high`` if no import of the project is in flight.
    Returns whether it moved and how many missing rows the check added."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_key(_IMPORT_LOCK_NAMESPACE, project_id)])
        if not cursor.fetchone()[0]:
            return False, 0
        cursor.execute(_MISSING_SQL, [project_id, through, high])
        added = cursor.rowcount
        # Last, so that the project's row is held for one statement (submits update its totals).
        cursor.execute(
            f'UPDATE "{PROJECT}" SET "search_indexed_through_id" = %s '
            'WHERE "id" = %s AND "search_indexed_through_id" < %s',
            [high, project_id, high],
        )
    return True, added


def _user_job_waiting() -> bool:
    """Whether an import job or a dataset build is waiting for a worker on the default queue (a cheap
    read of each state index, once a batch). The dataset model is looked up by name: exports builds on
    annotation, not the other way round."""
    since = timezone.now() - IMPORT_WAITING_WINDOW
    waiting = [ImportJob]
    if apps.is_installed("exports"):
        waiting.append(apps.get_model("exports", "DatasetVersion"))
    return any(
        model.objects.filter(state=JobState.CREATED, created_at__gte=since).exists() for model in waiting
    )


def task_search_index(
    *, project_id: int, batch: int | None = None, seconds: float | None = None
) -> SearchIndexReport:
    """Index the project's tasks above its watermark, in id order, ``batch`` tasks a transaction, and
    move the watermark as far as is safe. Idempotent; resumes from the watermark. Stops after the
    batch that passes ``seconds`` (TESSERA_SEARCH_INDEX_RUN_SECONDS) with ``more`` set when tasks are left."""
    report = SearchIndexReport(project_id=project_id)
    if not _postgres():
        report.complete = True
        return report
    batch = batch or settings.TESSERA_SEARCH_INDEX_BATCH
    deadline = time.monotonic() + (settings.TESSERA_SEARCH_INDEX_RUN_SECONDS if seconds is None else seconds)
    with connection.cursor() as cursor:
        # A second run for the same project (a duplicate message, the sweep) leaves it to the first.
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_key(_RUN_LOCK_NAMESPACE, project_id)])
        if not cursor.fetchone()[0]:
            report.skipped = True
            return report
    # From here on, an import that commits queues a message of its own: this run may not reach its tasks.
    _pending_clear(project_id)
    try:
        row = (
            Project.objects.filter(pk=project_id)
            .values_list("search_indexed_through_id", "task_layout_version")
            .first()
        )
        if row is None:
            return report
        through, layout_version = row
        cursor_id = through
        try:
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(_BATCH_SQL, [project_id, cursor_id, batch])
                    high, count, inserted = cursor.fetchone()
                report.indexed += inserted
                if not count:
                    break
                moved, added = _advance(project_id, through, high)
                report.indexed += added
                if moved:
                    through = high
                cursor_id = high
                if count < batch:
                    break
                if time.monotonic() >= deadline or _user_job_waiting():
                    report.more = True
                    break
        except IntegrityError:
            # The project (or the tasks) were deleted meanwhile: nothing is left to index.
            return report
        report.through_id = through
        report.complete = through == cursor_id and not report.more
        if report.complete:
            # Every import committed before the run started is indexed: the sweep may pass the
            # project over until its layout moves again.
            Project.objects.filter(pk=project_id, search_indexed_layout_version__lt=layout_version).update(
                search_indexed_layout_version=layout_version
            )
        return report
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_key(_RUN_LOCK_NAMESPACE, project_id)])


@dataclass
class SearchSweepReport:
    queued: list[int] = field(default_factory=list)


def task_search_sweep(*, limit: int = 1000) -> SearchSweepReport:
    """Queue the job for every project whose tasks may be unindexed: its layout moved since the last
    complete run (an import committed and its message was lost, or a run left the watermark behind)."""
    report = SearchSweepReport()
    if not _postgres():
        return report
    report.queued = list(
        Project.objects.exclude(search_indexed_layout_version=F("task_layout_version"))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for project_id in report.queued:
        _send(project_id)
    return report
