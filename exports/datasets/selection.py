"""The tasks a recipe selects, read in task-id order as ``DatasetItem``s with the result the recipe chose.

Keyset pages of task ids, each page read with its annotations, stored consensus and reviewers' fixes in
four statements whatever the page holds (the query count grows with pages, never with tasks), each in
a short statement of its own so that a long build holds no transaction open (as exports/selectors.py).

Which result a task contributes:

* ``latest``: its newest submitted annotation (highest id);
* ``reviewed``: its newest annotation a reviewer accepted or fixed, a fix contributing the fixed result;
* ``consensus``: the stored consensus (annotation/services/quality.py) once the task reached its
  overlap; before that (a single answer), its newest annotation;
* ``all``: no single result; every submitted annotation is in ``annotations``.

``review`` narrows the candidate annotations to those states; a task left with none is not selected.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from annotation.models import Annotation, Project, Review, ReviewState, Task, TaskQuality, Verdict
from annotation.selectors import task_query_limits, task_query_where
from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.datasets.recipes import tasks_query
from tessera.json_reading import json_loads

TASK = Task._meta.db_table
ANNOTATION = Annotation._meta.db_table
QUALITY = TaskQuality._meta.db_table
REVIEW = Review._meta.db_table
PAGE_TASKS = 2000
REVIEWED_STATES = (ReviewState.ACCEPTED.value, ReviewState.FIXED.value)


def dataset_context(project: Project) -> DatasetContext:
    return DatasetContext(
        project_id=project.pk,
        controls=dict(project.parsed_label_config or {}),
        data_variables=tuple(project.data_variables or ()),
        label_config=project.label_config or "",
    )


def candidate_states(recipe: dict) -> tuple[str, ...] | None:
    """The review states an annotation needs to count for the recipe; None: any submitted one."""
    states = set(recipe["review"]) if recipe["review"] else None
    if recipe["result"] == "reviewed":
        states = set(REVIEWED_STATES) if states is None else states & set(REVIEWED_STATES)
    return None if states is None else tuple(sorted(states))


def _in_list(values: tuple) -> str:
    return ", ".join(["%s"] * len(values))


def selection_where(
    *, project: Project, recipe: dict, after: int | None = None, before: int | None = None
) -> tuple[str, list]:
    """The SQL condition on ``t`` for the recipe's tasks: its filter, gold, agreement and review states,
    and at least one submitted annotation that counts; with ``after``, only tasks with a greater id (a
    keyset page), with ``before`` only those with a smaller one (a build's part). The lower bound is
    repeated inside each EXISTS: PostgreSQL carries equalities across a join but not inequalities, so a
    merge semi join read the annotation index from its start on every page (the 250th page of 2,000
    read half a million annotations: quadratic over the project)."""
    query = tasks_query(recipe["tasks"], task_query_limits())
    params: list[Any]
    if query is None:
        where, params = 't."project_id" = %s', [project.pk]
    else:
        where, params = task_query_where(project=project, query=query)
    parts = [where]
    if after is not None:
        parts.append('t."id" > %s')
        params.append(after)
    if before is not None:
        parts.append('t."id" < %s')
        params.append(before)
    if recipe["gold"] == "exclude":
        parts.append('NOT t."is_gold"')
    elif recipe["gold"] == "only":
        parts.append('t."is_gold"')
    if recipe["min_agreement"] is not None:
        bound = ' AND q."task_id" > %s' if after is not None else ""
        parts.append(
            f'EXISTS (SELECT 1 FROM "{QUALITY}" q WHERE q."task_id" = t."id" AND q."agreement" >= %s{bound})'
        )
        params.append(recipe["min_agreement"])
        if after is not None:
            params.append(after)
    states = candidate_states(recipe)
    if states == ():
        # "reviewed" results with review states that hold none of accepted and fixed: nothing counts.
        parts.append("1 = 0")
    counted = f'EXISTS (SELECT 1 FROM "{ANNOTATION}" a WHERE a."task_id" = t."id" AND NOT a."was_cancelled"'
    if states:
        counted += f' AND a."review_state" IN ({_in_list(states)})'
        params.extend(states)
    if after is not None:
        counted += ' AND a."task_id" > %s'
        params.append(after)
    parts.append(counted + ")")
    return " AND ".join(f"({part})" for part in parts), params


def selection_count(*, project: Project, recipe: dict) -> int:
    where, params = selection_where(project=project, recipe=recipe)
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{TASK}" t WHERE {where}', params)
        row = cursor.fetchone()
    return row[0] if row else 0


def data_field_sql(key: str) -> tuple[str, list]:
    """A task data field as text (NULL when absent), on either database."""
    if connection.vendor == "postgresql":
        return 't."data" ->> %s', [key]
    return 'json_extract(t."data", %s)', ['$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"']


def selection_has_field(*, project: Project, recipe: dict, key: str) -> bool:
    where, params = selection_where(project=project, recipe=recipe)
    field, field_params = data_field_sql(key)
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT 1 FROM "{TASK}" t WHERE {where} AND {field} IS NOT NULL LIMIT 1',
            [*params, *field_params],
        )
        return cursor.fetchone() is not None


@dataclass(frozen=True, slots=True)
class PreviewRow:
    task_id: int
    group: str | None
    labels_json: str


def selection_preview_rows(*, project: Project, recipe: dict) -> Iterator[PreviewRow]:
    """Task id, group field and stored labels per selected task, for a preview: no annotation is read."""
    field, field_params = data_field_sql(recipe["group_by"]) if recipe["group_by"] else ("NULL", [])
    after = 0
    while True:
        where, params = selection_where(project=project, recipe=recipe, after=after)
        sql = f'SELECT t."id", {field}, CAST(t."labels" AS TEXT) FROM "{TASK}" t WHERE {where} ORDER BY t."id" LIMIT %s'
        with connection.cursor() as cursor:
            cursor.execute(sql, [*field_params, *params, PAGE_TASKS])
            rows = cursor.fetchall()
        for task_id, group, labels in rows:
            yield PreviewRow(task_id, None if group is None else str(group), labels or "{}")
        if len(rows) < PAGE_TASKS:
            return
        after = rows[-1][0]


def _range(ids: list[int]) -> tuple[str, list[int]]:
    # Tasks of one import have consecutive ids: a range scan beats a long IN list (as exports/selectors.py).
    low, high = min(ids), max(ids)
    if high - low < 2 * len(ids):
        return '"task_id" BETWEEN %s AND %s', [low, high]
    return f'"task_id" IN ({_in_list(tuple(ids))})', ids


# A candidate annotation, the page query's row as it comes: (id, completed_by, result JSON, review state,
# task id). An object per annotation was a million objects built and dropped for nothing.
_Candidate = tuple[int, int | None, str, str, int]


def _page_children(
    ids: list[int], recipe: dict
) -> tuple[dict[int, list[_Candidate]], dict[int, tuple[str, float | None]], dict[int, str]]:
    condition, params = _range(ids)
    states = candidate_states(recipe)
    state_sql = f' AND "review_state" IN ({_in_list(states)})' if states else ""
    candidates: dict[int, list[_Candidate]] = {}
    consensus: dict[int, tuple[str, float | None]] = {}
    fixes: dict[int, str] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT "id", "completed_by_id", CAST("result" AS TEXT), "review_state", "task_id" '
            f'FROM "{ANNOTATION}" WHERE {condition} AND NOT "was_cancelled"{state_sql} ORDER BY "id"',
            [*params, *(states or ())],
        )
        for candidate in cursor.fetchall():
            rows = candidates.get(candidate[4])
            if rows is None:
                candidates[candidate[4]] = [candidate]
            else:
                rows.append(candidate)
        if recipe["result"] == "consensus":
            cursor.execute(
                f'SELECT "task_id", CAST("consensus" AS TEXT), "agreement" FROM "{QUALITY}" '
                f'WHERE {condition} AND "consensus" IS NOT NULL',
                params,
            )
            for task_id, consensus_json, agreement in cursor.fetchall():
                if consensus_json not in (None, "null"):
                    consensus[task_id] = (consensus_json, agreement)
        if recipe["result"] == "reviewed":
            fixed = [c[0] for rows in candidates.values() for c in rows if c[3] == ReviewState.FIXED]
            if fixed:
                # The newest fix of each annotation wins: rows come oldest first and overwrite.
                cursor.execute(
                    f'SELECT "annotation_id", CAST("result" AS TEXT) FROM "{REVIEW}" WHERE "verdict" = %s '
                    f'AND "annotation_id" IN ({_in_list(tuple(fixed))}) ORDER BY "created_at", "id"',
                    [Verdict.FIX.value, *fixed],
                )
                for annotation_id, result_json in cursor.fetchall():
                    if result_json not in (None, "null"):
                        fixes[annotation_id] = result_json
    return candidates, consensus, fixes


def _every_annotation(rows: list[_Candidate]) -> list[ItemAnnotation]:
    return [ItemAnnotation(c[0], c[1], json_loads(c[2])) for c in rows]


def _item(
    task_id: int, data_json: str, rows: list[_Candidate], recipe: dict, consensus, fixes
) -> DatasetItem:
    data = json_loads(data_json)
    mode = recipe["result"]
    if mode == "all":
        return DatasetItem(task_id=task_id, data=data, result=[], annotations=_every_annotation(rows))
    if mode == "consensus" and task_id in consensus:
        # Every submitted annotation stands behind a consensus: the manifest names them all.
        return DatasetItem(
            task_id=task_id,
            data=data,
            result=json_loads(consensus[task_id][0]),
            annotations=_every_annotation(rows),
        )
    annotation_id, completed_by, result_json, _state, _task_id = rows[-1]
    if mode == "reviewed":
        result_json = fixes.get(annotation_id, result_json)
    result = json_loads(result_json)
    return DatasetItem(
        task_id=task_id,
        data=data,
        result=result,
        annotations=[ItemAnnotation(annotation_id, completed_by, result)],
    )


def selection_id_bounds(*, project: Project) -> tuple[int, int] | None:
    """The ids of the project's first and last task by inner id (two reads of its unique index), or None
    without tasks. Imports number both in the same order, so these are about the lowest and highest ids:
    good enough to cut a build into parts of about equal size (the first part starts at 0 and the last
    has no end, so no task falls outside them whatever the ids)."""
    ends = []
    with connection.cursor() as cursor:
        for order in ("ASC", "DESC"):
            cursor.execute(
                f'SELECT "id" FROM "{TASK}" WHERE "project_id" = %s ORDER BY "inner_id" {order} LIMIT 1',
                [project.pk],
            )
            row = cursor.fetchone()
            if row is None:
                return None
            ends.append(row[0])
    return min(ends), max(ends)


def selection_items(
    *, project: Project, recipe: dict, first: int = 0, end: int | None = None
) -> Iterator[DatasetItem]:
    """The recipe's items in task-id order, one page of tasks in memory at a time; with ``first`` and
    ``end``, only tasks with ids in [first, end)."""
    after = first - 1
    while True:
        where, params = selection_where(project=project, recipe=recipe, after=after, before=end)
        sql = f'SELECT t."id", CAST(t."data" AS TEXT) FROM "{TASK}" t WHERE {where} ORDER BY t."id" LIMIT %s'
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, PAGE_TASKS])
            rows = cursor.fetchall()
        if not rows:
            return
        candidates, consensus, fixes = _page_children([row[0] for row in rows], recipe)
        for task_id, data_json in rows:
            # A task whose last counted annotation went between the two reads is left out.
            if candidates.get(task_id):
                yield _item(task_id, data_json, candidates[task_id], recipe, consensus, fixes)
        if len(rows) < PAGE_TASKS:
            return
        after = rows[-1][0]


def selection_agreement(*, project: Project, task_ids: Sequence[int]) -> list[float]:
    """The stored agreement of those tasks that have one (for the card), read a page of ids at a time."""
    values: list[float] = []
    for start in range(0, len(task_ids), PAGE_TASKS):
        page = list(task_ids[start : start + PAGE_TASKS])
        condition, params = _range(page)
        wanted = set(page)
        with connection.cursor() as cursor:
            cursor.execute(
                f'SELECT "task_id", "agreement" FROM "{QUALITY}" WHERE {condition} AND "agreement" IS NOT NULL',
                params,
            )
            values.extend(float(agreement) for task_id, agreement in cursor.fetchall() if task_id in wanted)
    return values
