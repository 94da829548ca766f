"""Reads for the annotation app, each scoped to the caller's organization.

An object of another organization is reported as missing (404), never as
forbidden, so that ids reveal nothing across organizations.
"""

import bisect
import json
from contextlib import nullcontext
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from annotation.models import (
    Annotation,
    Comment,
    Draft,
    ImportJob,
    Prediction,
    Project,
    ProjectMember,
    Task,
    TaskSearchText,
)
from annotation.task_filters import Limits, TaskQuery
from annotation.task_query import order_sql, prefilter_patterns, where_sql
from annotation.visibility import sees_all_annotations, visible_annotations
from tessera import prepared, validation
from tessera.errors import NotFound
from tessera.models import AuditEvent, Membership, User
from tessera.rows import ModelRows

PROJECT_ROWS = ModelRows(Project)
TASK_ROWS = ModelRows(Task)

# Every labeling request reads its project or its task this way: see tessera/rows.py.
_PROJECT_SQL = (
    f'SELECT {PROJECT_ROWS.columns("p")} FROM "{Project._meta.db_table}" p '
    'WHERE p."id" = %s AND p."organization_id" = %s'
)
_TASK_WITH_PROJECT_SQL = (
    f'SELECT {TASK_ROWS.columns("t")}, {PROJECT_ROWS.columns("p")} FROM "{Task._meta.db_table}" t '
    f'JOIN "{Project._meta.db_table}" p ON p."id" = t."project_id" '
    'WHERE t."id" = %s AND p."organization_id" = %s'
)


def project_list(*, membership: Membership) -> QuerySet[Project]:
    # num_tasks_with_annotations comes from the project's annotated_task_count, kept by the services:
    # counting it here joined every task of every listed project (0.4 s at a million tasks).
    return (
        Project.objects.filter(organization_id=membership.organization_id)
        .select_related("created_by")
        .order_by("-id")
    )


def project_get(*, membership: Membership, project_id) -> Project:
    with connection.cursor() as cursor:
        prepared.execute(cursor, "project_get", _PROJECT_SQL, [_int(project_id), membership.organization_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("Project not found."))
    return PROJECT_ROWS.build(row)


def task_get(*, membership: Membership, task_id) -> Task:
    """The task with its project (``task.project`` costs no further query)."""
    with connection.cursor() as cursor:
        prepared.execute(
            cursor, "task_get", _TASK_WITH_PROJECT_SQL, [_int(task_id), membership.organization_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("Task not found."))
    task = TASK_ROWS.build(row)
    task.project = PROJECT_ROWS.build(row, TASK_ROWS.width)
    return task


def task_with_children(*, membership: Membership, task_id) -> Task:
    """The task with the annotations the caller may see (annotation/visibility.py) and its predictions."""
    task = task_get(membership=membership, task_id=task_id)
    task.annotation_list = list(annotations_of_task(task=task, membership=membership))
    task.prediction_list = list(Prediction.objects.filter(task=task).order_by("id"))
    return task


def task_page(*, project: Project, membership: Membership, offset: int, limit: int) -> list[Task]:
    """One page of tasks in project order with annotations (those the caller may see) and predictions
    in three queries in all.

    A page is an ``inner_id`` range found without OFFSET, which walks every earlier row (75 ms for a
    late page of a million tasks): see ``_first_inner_id_at``.
    """
    tasks = _with_children(
        Task.objects.filter(project=project).order_by("inner_id"), membership=membership, project=project
    )
    if project.task_count == project.task_counter:
        # Imports number tasks 1, 2, 3… with no gap, and only deletes and failed or running imports
        # leave gaps (task_count lags task_counter). With none, the task at position n has inner_id n.
        return list(tasks.filter(inner_id__gt=offset, inner_id__lte=offset + limit))
    first = _first_inner_id_at(project, offset + 1)
    if first is None:
        return list(tasks[offset : offset + limit])
    return list(tasks.filter(inner_id__gte=first)[:limit])


# Beyond this many gaps (scattered single deletes) the boundaries are not cached and pages use OFFSET.
MAX_CACHED_GAPS = 20_000
_GAPS_SQL = """
SELECT "prev" + 1, "inner_id" - 1 FROM (
  SELECT "inner_id", LAG("inner_id", 1, 0) OVER (ORDER BY "inner_id") AS "prev"
  FROM "{task}" WHERE "project_id" = %s
) s WHERE "inner_id" - "prev" > 1
ORDER BY "inner_id"
"""


def _first_inner_id_at(project: Project, position: int) -> int | None:
    """The inner_id of the task at ``position`` (from 1) in a project whose inner ids have gaps.

    The gaps between existing tasks are read once per layout (one pass over the project's inner_id
    index, about 0.2 s at a million tasks) and cached under the project's ``task_layout_version``,
    which every delete and every committed import raises in its own transaction; after that a page
    costs a bisect and an index range, whatever its number. Ranges reserved by an import that has not
    committed lie above every visible task and move no position, so they need no entry.
    """
    key = f"task-gaps:{project.pk}:{project.created_at.timestamp()}:{project.task_layout_version}"
    gaps = cache.get(key)
    if gaps is None:
        with connection.cursor() as cursor:
            cursor.execute(_GAPS_SQL.format(task=Task._meta.db_table), [project.pk])
            rows = cursor.fetchmany(MAX_CACHED_GAPS + 1)
        if len(rows) > MAX_CACHED_GAPS:
            return None
        # tasks_before[i]: how many tasks precede gap i; skipped[i]: inner ids missing up to gap i.
        tasks_before, skipped, missing = [], [], 0
        for low, high in rows:
            tasks_before.append(low - 1 - missing)
            missing += high - low + 1
            skipped.append(missing)
        gaps = (tasks_before, skipped)
        cache.set(key, gaps, timeout=24 * 3600)
    tasks_before, skipped = gaps
    passed = bisect.bisect_left(tasks_before, position)
    return position + (skipped[passed - 1] if passed else 0)


def task_query_limits() -> Limits:
    return Limits(
        max_items=settings.TESSERA_TASK_FILTER_MAX_ITEMS, max_ids=settings.TESSERA_TASK_SELECTION_MAX_IDS
    )


def task_query_where(
    *, project: Project, query: TaskQuery, alias: str = "t", prefilter: bool = True
) -> tuple[str, list]:
    """The SQL condition for ``query``'s tasks of ``project`` (see annotation/task_query.py)."""
    where, params = where_sql(
        query,
        vendor=connection.vendor,
        adapt_datetime=connection.ops.adapt_datetimefield_value,
        controls=tuple(project.parsed_label_config or {}),
        alias=alias,
        prefilter=prefilter,
        # The watermark as this request read it: it only rises, so an older one scans more, never less.
        search=(project.pk, project.search_indexed_through_id),
    )
    return f'{alias}."project_id" = %s AND {where}', [project.pk, *params]


def _with_children(tasks: QuerySet[Task], *, membership: Membership, project: Project) -> QuerySet[Task]:
    annotations = visible_annotations(
        Annotation.objects.order_by("id"), membership=membership, project=project
    )
    return tasks.prefetch_related(
        Prefetch("annotations", queryset=annotations, to_attr="annotation_list"),
        Prefetch("predictions", queryset=Prediction.objects.order_by("id"), to_attr="prediction_list"),
    )


# A walk of the sorted index checks each row's field alone; a trigram bitmap rechecks each candidate's
# whole data as text as well, about four times the work per row.
WALK_ROW_COST_RATIO = 4
# The capped count: a scan checks a task's field in about 1.2 µs and meets ``cap`` matches after about
# ``cap * tasks / E`` rows; the trigram way rechecks and de-duplicates every one of the ``E`` candidates
# before the first count (about 4.5 µs each), measured at 1M tasks (docs/BENCHMARKS.md, issue 8).
COUNT_WALK_ROW_COST_RATIO = 4


@dataclass(frozen=True)
class TextFilterPlan:
    """How a page and its count read a text filter: walking the sort order (``True``) or through the
    trigram index. See ``task_text_filter_plan``."""

    page_walks: bool = False
    count_walks: bool = False


# A walk reads until its page (or the count's cap) is met, usually a few thousand rows, but is costed as
# the whole scan: past jit_above_cost PostgreSQL compiled it (14 ms of a 56 ms page at 1M tasks) and
# it split it over parallel workers, whose start and merge cost more than the rows (a page of 50 at
# offset 200 for a Japanese word: 56 ms as planned, 11 ms with neither). For the walk's transaction only.
WALK_SETTINGS = "set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)"


def task_text_filter_plan(
    *, project: Project, query: TaskQuery, rows_wanted: int, count_cap: int | None = None
) -> TextFilterPlan:
    """Whether a text filter's page and count are cheaper walking the tasks than through the trigram index.

    PostgreSQL estimates the trigram condition well from the index's statistics, but not the exact
    check on the field that follows it, so it multiplies the two into a few rows and always takes the
    trigram bitmap: for a common word that rechecks every match (25,000 rows, 450 ms, at 100k tasks)
    to sort them for one page. Here the trigram condition's own estimate ``E`` decides (one EXPLAIN,
    planning only, about a millisecond, when the query has a text condition):

    * the page: walking the sorted index reads about ``rows_wanted * tasks / E`` rows, each checked on
      its field; the bitmap rechecks ``E`` candidates, each on the whole data as text and the field
      (``WALK_ROW_COST_RATIO`` times the work);
    * the count (up to the cap): a scan meets the cap after about ``cap * tasks / E`` rows; the index
      way rechecks and de-duplicates all ``E`` candidates first (the ``IN`` is hashed whole before the
      count's limit applies), ``COUNT_WALK_ROW_COST_RATIO`` times a scanned row's work each.

    ``E`` comes from the search text's histogram (1,000 entries, migration 0017): a rarer word than
    one task in 1,000 is estimated at most a few thousand rows of 1M, below both thresholds.
    """
    if connection.vendor != "postgresql" or not project.task_count:
        return TextFilterPlan()
    patterns = prefilter_patterns(query)
    if not patterns:
        return TextFilterPlan()
    # Estimated on the search rows (their text column has statistics, data::text has none), which
    # stand for the whole project once the job has run; while it has not, the estimate is low and
    # the page goes through the index and the scanned tail, which is exact either way.
    conditions = " AND ".join(['s."text" ILIKE %s'] * len(patterns))
    with connection.cursor() as cursor:
        cursor.execute(
            f'EXPLAIN (FORMAT JSON) SELECT 1 FROM "{TaskSearchText._meta.db_table}" s '
            f'WHERE s."project_id" = %s AND {conditions}',
            [project.pk, *patterns],
        )
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    estimated = float(plan[0]["Plan"]["Plan Rows"])
    cap = settings.TESSERA_TASK_FILTER_COUNT_CAP if count_cap is None else count_cap
    return TextFilterPlan(
        page_walks=estimated * estimated * WALK_ROW_COST_RATIO > rows_wanted * project.task_count,
        count_walks=estimated * estimated * COUNT_WALK_ROW_COST_RATIO >= (cap + 1) * project.task_count,
    )


def task_text_filter_walks(*, project: Project, query: TaskQuery, rows_wanted: int) -> bool:
    return task_text_filter_plan(project=project, query=query, rows_wanted=rows_wanted).page_walks


def task_page_filtered(
    *, project: Project, membership: Membership, query: TaskQuery, offset: int, limit: int, walk: bool = False
) -> list[Task]:
    """One page of the tasks ``query`` selects, in its order: the ids in one statement (an index walk
    or a bitmap of the GIN indexes, whichever PostgreSQL finds cheaper), then the tasks with their
    annotations and predictions in three more. ``walk`` (see ``task_text_filter_walks``): the page is
    read by walking its sort order, the trigram prefilter left out and PostgreSQL told not to sort."""
    where, params = task_query_where(project=project, query=query, prefilter=not walk)
    sql = (
        f'SELECT t."id" FROM "{Task._meta.db_table}" t WHERE {where} '
        f"ORDER BY {order_sql(query.ordering)} LIMIT %s OFFSET %s"
    )
    with transaction.atomic() if walk else nullcontext(), connection.cursor() as cursor:
        if walk:
            # For this transaction only: no sequential scan and no sort when an index gives the order,
            # and a walk that stops early is planned as one (WALK_SETTINGS).
            cursor.execute(
                "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true), "
                + WALK_SETTINGS
            )
        cursor.execute(sql, [*params, limit, offset])
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    by_id = {
        task.pk: task
        for task in _with_children(Task.objects.filter(pk__in=ids), membership=membership, project=project)
    }
    return [by_id[task_id] for task_id in ids if task_id in by_id]


@dataclass(frozen=True)
class FilteredTotals:
    """Tasks, submitted annotations and predictions that a filter selects, counted up to ``cap`` tasks:
    ``exact`` is false when more match, and the figures are then those of the first ``cap``."""

    tasks: int
    annotations: int
    predictions: int
    exact: bool


def task_filtered_totals(
    *, project: Project, query: TaskQuery, cap: int, walk: bool = False
) -> FilteredTotals:
    """One bounded statement: it stops after ``cap + 1`` matches, so a filter that keeps most of a
    million tasks costs as much as one that keeps ``cap`` of them, not a scan of the project. With
    ``walk`` (a common text term) the trigram prefilter is left out: a scan meets ``cap`` matches
    sooner than the index's bitmap of every match is built."""
    where, params = task_query_where(project=project, query=query, prefilter=not walk)
    sql = (
        'SELECT COUNT(*), COALESCE(SUM(s."total_annotations"), 0), COALESCE(SUM(s."total_predictions"), 0) '
        f'FROM (SELECT t."total_annotations", t."total_predictions" FROM "{Task._meta.db_table}" t '
        f"WHERE {where} LIMIT %s) s"
    )
    with transaction.atomic() if walk else nullcontext(), connection.cursor() as cursor:
        if walk:
            cursor.execute("SELECT " + WALK_SETTINGS)
        cursor.execute(sql, [*params, cap + 1])
        count, annotations, predictions = cursor.fetchone()
    if count > cap:
        return FilteredTotals(
            tasks=cap, annotations=int(annotations), predictions=int(predictions), exact=False
        )
    return FilteredTotals(tasks=count, annotations=int(annotations), predictions=int(predictions), exact=True)


def task_ids_selected(*, project: Project, query: TaskQuery) -> list[int]:
    """Every task id ``query`` selects, in id order (a bulk action's rows, read once before it writes)."""
    where, params = task_query_where(project=project, query=query)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT t."id" FROM "{Task._meta.db_table}" t WHERE {where} ORDER BY t."id"', params)
        return [row[0] for row in cursor.fetchall()]


def task_history(*, task: Task, membership: Membership) -> list[AuditEvent]:
    """Audit events of the task, of its annotations and of its predictions, oldest first. A caller who
    labels blind (annotation/visibility.py) reads the events of the annotations they may see alone:
    the task's and its predictions' events name other annotators' work."""
    annotation_ids = list(annotations_of_task(task=task, membership=membership).values_list("id", flat=True))
    objects = Q(object_type=Annotation._meta.label_lower, object_id__in=annotation_ids)
    if sees_all_annotations(membership):
        prediction_ids = list(Prediction.objects.filter(task=task).values_list("id", flat=True))
        objects |= Q(object_type=Task._meta.label_lower, object_id=task.pk)
        objects |= Q(object_type=Prediction._meta.label_lower, object_id__in=prediction_ids)
    return list(
        AuditEvent.objects.filter(objects, organization_id=membership.organization_id)
        .select_related("actor")
        .order_by("created_at", "id")
    )


def task_totals(*, project: Project) -> dict[str, int]:
    """Annotations and predictions of the project, as Label Studio's task list reports them: read from
    the counters the services keep on the project row, so the page costs the same at any size."""
    return {"total_annotations": project.annotation_total, "total_predictions": project.prediction_total}


def import_job_task_ids(*, job: ImportJob) -> list[int]:
    """The ids of the tasks a completed import wrote (Label Studio's clients read them from the job)."""
    if job.first_inner_id is None or not job.task_count:
        return []
    return list(
        Task.objects.filter(
            project_id=job.project_id,
            inner_id__gte=job.first_inner_id,
            inner_id__lt=job.first_inner_id + job.task_count,
        )
        .order_by("inner_id")
        .values_list("id", flat=True)
    )


def annotation_get(*, membership: Membership, annotation_id) -> Annotation:
    """An annotation the caller may see; another annotator's, to a caller who labels blind, is a 404."""
    annotations = Annotation.objects.select_related("task__project").filter(
        project__organization_id=membership.organization_id, pk=_int(annotation_id)
    )
    annotation = visible_annotations(annotations, membership=membership).first()
    if annotation is None:
        raise NotFound(_("Annotation not found."))
    return annotation


def annotations_of_task(*, task: Task, membership: Membership) -> QuerySet[Annotation]:
    """The task's annotations the caller may see (``task.project`` read through a scoped selector)."""
    return visible_annotations(
        Annotation.objects.filter(task=task).order_by("id"), membership=membership, project=task.project
    )


def prediction_get(*, membership: Membership, prediction_id) -> Prediction:
    prediction = (
        Prediction.objects.select_related("project", "task")
        .filter(project__organization_id=membership.organization_id, pk=_int(prediction_id))
        .first()
    )
    if prediction is None:
        raise NotFound(_("Prediction not found."))
    return prediction


def prediction_list(*, membership: Membership, task_id=None, project_id=None) -> QuerySet[Prediction]:
    predictions = Prediction.objects.filter(project__organization_id=membership.organization_id)
    if task_id is not None:
        predictions = predictions.filter(task_id=_int(task_id, field="task"))
    if project_id is not None:
        predictions = predictions.filter(project_id=_int(project_id, field="project"))
    return predictions.order_by("id")


def draft_get(*, membership: Membership, draft_id) -> Draft:
    draft = (
        Draft.objects.select_related("task__project")
        .filter(task__project__organization_id=membership.organization_id, pk=_int(draft_id))
        .first()
    )
    if draft is None:
        raise NotFound(_("Draft not found."))
    return draft


def import_job_get(*, project: Project, job_id) -> ImportJob:
    job = ImportJob.objects.filter(project=project, pk=_int(job_id)).first()
    if job is None:
        raise NotFound(_("Import not found."))
    return job


def _int(value, *, field: str | None = None) -> int:
    """An id (see tessera.validation.object_id): a bad one in a path is a 404, in a parameter a 400."""
    return validation.object_id(value, field=field)


def task_held_id(*, project: Project, user, now=None) -> int | None:
    """The id of the task of ``project`` that ``user`` holds a live lock on, has not answered, and that
    still needs an answer (a task others filled while the caller held it is not handed back: its
    submit would only be refused), or None."""
    from django.utils import timezone

    from annotation.models import TaskLock

    return (
        TaskLock.objects.filter(
            user=user, task__project=project, task__is_labeled=False, expires_at__gt=now or timezone.now()
        )
        .exclude(task__annotations__completed_by=user)
        .values_list("task_id", flat=True)
        .first()
    )


def task_held(*, project: Project, user) -> Task | None:
    """The task ``task_held_id`` names. A read: the lock is neither renewed nor taken (a session-cookie
    GET of /next answers with it)."""
    task_id = task_held_id(project=project, user=user)
    return None if task_id is None else Task.objects.filter(pk=task_id).first()


def project_members(*, project: Project) -> QuerySet[ProjectMember]:
    """A project's members who are active in its organization, with their organization role
    (``org_role``), in one query; members deactivated in the organization are left out."""
    active = Membership.objects.filter(
        organization_id=project.organization_id, user_id=OuterRef("user_id"), is_active=True
    )
    return (
        ProjectMember.objects.filter(Exists(active), project=project)
        .select_related("user")
        .annotate(org_role=Subquery(active.values("role")[:1]))
        .order_by("pk")
    )


# ---- comments (annotation/services/comments.py) ------------------------------------------------------


def comment_get(*, membership: Membership, comment_id) -> Comment:
    """A comment of the caller's organization, with its project, task, author and resolver."""
    comment = (
        Comment.objects.select_related("project", "task", "author", "resolved_by")
        .filter(project__organization_id=membership.organization_id, pk=_int(comment_id))
        .first()
    )
    if comment is None:
        raise NotFound(_("Comment not found."))
    return comment


def comments_of_task(*, task: Task) -> QuerySet[Comment]:
    """Every comment of the task, threads and replies, oldest first (the comment_task_recent index)."""
    return (
        Comment.objects.filter(task=task).select_related("author", "resolved_by").order_by("created_at", "id")
    )


def comment_threads(*, project: Project, open_only: bool) -> QuerySet[Comment]:
    """The project's threads (comments without parent), newest first; ``open_only``: unresolved ones,
    read through the comment_open_threads partial index."""
    threads = Comment.objects.filter(project=project, parent=None)
    if open_only:
        threads = threads.filter(is_resolved=False)
    return threads.select_related("author", "resolved_by").order_by("-id")


def comment_mentioned_users(*, comments) -> dict[int, User]:
    """The users the comments mention, by id, in one query whatever their number."""
    ids = {user_id for comment in comments for user_id in comment.mentions}
    if not ids:
        return {}
    return {user.pk: user for user in User.objects.filter(pk__in=ids)}
