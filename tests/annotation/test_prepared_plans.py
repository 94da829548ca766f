"""The generic plans of the prepared statements an annotator's round runs (tessera/prepared.py).

PostgreSQL switches a prepared statement to a generic plan, made without the values, after five
executions. For a statement bounded by a key that plan is as good as any; for one that filters on a
value whose selectivity varies it can walk a whole table: /next's held/drafted/rejected read, prepared
at first, walked the annotations' primary key for 1.2 s a call at 1M tasks. Here, on tables large
enough for the planner to tell a scan from a look-up, every statement of the round is planned as
PostgreSQL would after five executions, and none may read a whole table of tasks or annotations.
"""

import re

import pytest
from django.db import connection

from annotation.models import Annotation, Task
from annotation.services.activity_totals import activity_recount, activity_replace
from tessera import prepared
from tests.conftest import choice, post_json

pytestmark = pytest.mark.django_db

ROWS = 20_000
SEQ_SCAN = re.compile(r"Seq Scan on (annotation_annotation|annotation_task)\b")
PKEY_WALK = re.compile(
    r"Index (Only )?Scan (Backward )?using (annotation_annotation_pkey|annotation_task_pkey)\b"
)


def whole_table_reads(plan: str) -> list[str]:
    """Plan nodes that read every row of tasks or annotations: a sequential scan, or a walk of the
    primary key with no index condition (an ORDER BY id … LIMIT that filters row by row)."""
    nodes = re.split(r"\n\s*->\s*", plan)
    return [
        node.splitlines()[0]
        for node in nodes
        if SEQ_SCAN.search(node.splitlines()[0])
        or (PKEY_WALK.search(node.splitlines()[0]) and "Index Cond" not in node)
    ]


def _fill(make_project, cast) -> None:
    """Another project of ROWS tasks, each with a submitted answer: review states and flags skewed as in
    a real database, then ANALYZE so that the planner knows."""
    other = make_project(tasks=[{"text": "seed"}])
    first = Task.objects.get(project=other)
    Task.objects.bulk_create(
        [Task(project=other, data={"text": f"t{i}"}, inner_id=i + 2, is_labeled=True) for i in range(ROWS)],
        batch_size=5000,
    )
    author = cast.users["manager"]
    Annotation.objects.bulk_create(
        [
            Annotation(task_id=task_id, project=other, completed_by=author, result=choice("Positive"))
            for task_id in Task.objects.filter(project=other)
            .exclude(pk=first.pk)
            .values_list("id", flat=True)
        ],
        batch_size=5000,
    )
    activity_replace(other.pk, activity_recount(other.pk))
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE annotation_task, annotation_annotation, annotation_tasklock, annotation_draft"
        )


def test_no_generic_plan_of_the_round_reads_a_whole_table(api, cast, make_project):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: prepared statements are PostgreSQL's")
    _fill(make_project, cast)
    project = make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}], maximum_annotations=3)
    executed: list[tuple[str, list]] = []

    def record(execute, sql, params, many, context):
        if sql.startswith("EXECUTE "):
            executed.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        for who in ("annotator", "annotator2"):
            client = api(who)
            task = client.get(f"/api/projects/{project.pk}/next").json()
            response = post_json(
                client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Positive")}
            )
            assert response.status_code == 201
            assert client.get(f"/api/labeling/projects/{project.pk}").status_code == 200
    assert len({sql.split()[1] for sql, _ in executed}) >= 10
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for sql, params in executed:
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                assert not whole_table_reads(plan), f"{prepared.logged_sql(sql)}\n{plan}"
        finally:
            cursor.execute("RESET plan_cache_mode")
