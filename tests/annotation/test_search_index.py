"""Full-text search rows written after imports (annotation/services/search_index.py): the data table's
text filter answers the same tasks before and after the job (the tail above the watermark is scanned),
the job is idempotent and resumes from the watermark, moves it only while no import is in flight,
edits rewrite a task's row, deletes remove it, and imports queue the job on commit.

Most tests need PostgreSQL (the search table is read there only); SQLite checks the job is a no-op.
"""

import json
import threading
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.db import connection, connections, transaction

from annotation.importing.parsers import to_task_item
from annotation.models import Project, Task, TaskSearchText
from annotation.services.annotations import task_delete, task_update
from annotation.services.imports import tasks_import
from annotation.services.projects import project_delete, project_tasks_delete
from annotation.services.search_index import search_index_hold, task_search_index, task_search_sweep
from annotation.services.task_actions import task_action_run
from annotation.task_filters import Selection, TaskQuery

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL: search rows are read there only"
)

TEXTS = [
    "Acme Bank raised rates",
    "東京の銀行が金利を引き上げた",
    "大阪の天気は雨",
    "The bank of the river flooded",
    "東京タワーに行った bank holiday",
    'Rates fell 50%_at once, said "Bank"',
]
QUERIES = [
    ("search", "bank"),
    ("search", "bank rates"),
    ("contains", "東京"),
    ("search", "銀行 金利"),
    ("contains", "50%_at"),
    ("contains", '"Bank"'),
    ("search", "nothing-matches-this"),
]


def _filters(operator: str, value: str) -> str:
    item = {"filter": "filter:tasks:data.text", "operator": operator, "type": "String", "value": value}
    return json.dumps({"conjunction": "and", "items": [item]})


def _answers(client, project) -> dict:
    """Every query's tasks (inner ids) and count, sorted both ways."""
    found = {}
    for operator, value in QUERIES:
        for ordering in ("inner_id", "-total_annotations"):
            params = {"project": project.pk, "filters": _filters(operator, value), "ordering": ordering}
            body = client.get(f"/api/tasks/?{urlencode(params)}").json()
            found[(operator, value, ordering)] = (
                [Task.objects.get(pk=task["id"]).inner_id for task in body["tasks"]],
                body["total"],
            )
    return found


def _import(project, owner, texts) -> None:
    items = [to_task_item({"text": text}, index) for index, text in enumerate(texts)]
    tasks_import(project=project, user=owner, items=items)
    project.refresh_from_db()


def _rows(project) -> dict[int, str]:
    return dict(TaskSearchText.objects.filter(project=project).values_list("task_id", "text"))


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute('ANALYZE "annotation_task"')
        cursor.execute('ANALYZE "annotation_tasksearchtext"')


@postgres_only
@pytest.mark.django_db
def test_search_answers_the_same_tasks_before_and_after_the_job_japanese_included(api, cast, make_project):
    project = make_project(tasks=[{"text": text} for text in TEXTS])
    client = api("manager")
    assert project.search_indexed_through_id == 0 and not _rows(project)
    before = _answers(client, project)
    assert before[("search", "bank", "inner_id")] == ([1, 4, 5, 6], 4)
    assert before[("search", "銀行 金利", "inner_id")] == ([2], 1)
    assert before[("contains", "東京", "inner_id")] == ([2, 5], 2)

    report = task_search_index(project_id=project.pk)
    project.refresh_from_db()
    tasks = dict(Task.objects.filter(project=project).values_list("id", "data"))
    assert report.complete and report.indexed == len(TEXTS)
    assert project.search_indexed_through_id == max(tasks)
    assert project.search_indexed_layout_version == project.task_layout_version
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT "id", "data"::text FROM "annotation_task" WHERE "project_id" = %s', [project.pk]
        )
        assert _rows(project) == dict(cursor.fetchall())
    _analyze()
    assert _answers(client, project) == before

    # Tasks imported since sit above the watermark: scanned, found, and the same after the next run.
    _import(project, cast.users["owner"], ["another bank", "東京駅"])
    after_import = _answers(client, project)
    assert after_import[("search", "bank", "inner_id")] == ([1, 4, 5, 6, 7], 5)
    assert after_import[("contains", "東京", "inner_id")] == ([2, 5, 8], 3)
    assert task_search_index(project_id=project.pk).indexed == 2
    project.refresh_from_db()
    assert _answers(client, project) == after_import


@postgres_only
@pytest.mark.django_db
def test_the_job_is_idempotent_and_resumes_from_the_watermark(make_project):
    project = make_project(tasks=[{"text": f"text {i}"} for i in range(7)])
    ids = sorted(Task.objects.filter(project=project).values_list("id", flat=True))

    first = task_search_index(project_id=project.pk, batch=3)
    assert (first.indexed, first.through_id, first.complete) == (7, ids[-1], True)
    again = task_search_index(project_id=project.pk, batch=3)
    assert (again.indexed, again.through_id, again.complete) == (0, ids[-1], True)

    # A run stopped after its third task: rows above the watermark are missing, or some are there.
    Project.objects.filter(pk=project.pk).update(search_indexed_through_id=ids[2])
    TaskSearchText.objects.filter(task_id__in=ids[3:6]).delete()
    resumed = task_search_index(project_id=project.pk, batch=2)
    assert (resumed.indexed, resumed.through_id) == (3, ids[-1])
    assert set(_rows(project)) == set(ids)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_watermark_waits_for_an_import_in_flight(cast, make_project):
    """An import holds the project's search lock through its write phase: its task ids may lie below
    tasks already committed, so the job indexes what it sees but leaves the watermark where it was."""
    project = make_project(tasks=[{"text": "first"}, {"text": "second"}])
    holding, release = threading.Event(), threading.Event()

    def import_in_flight() -> None:
        try:
            with transaction.atomic():
                search_index_hold(project.pk)
                holding.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=import_in_flight)
    thread.start()
    try:
        assert holding.wait(30)
        blocked = task_search_index(project_id=project.pk)
    finally:
        release.set()
        thread.join(30)
    project.refresh_from_db()
    assert blocked.indexed == 2 and not blocked.complete
    assert project.search_indexed_through_id == 0
    assert project.search_indexed_layout_version != project.task_layout_version
    # The sweep finds it behind; the next run (the import's own message, or the sweep's) completes it.
    with mock.patch("annotation.tasks.index_task_search.delay") as delay:
        assert task_search_sweep().queued == [project.pk]
    delay.assert_called_once_with(project.pk)
    done = task_search_index(project_id=project.pk)
    project.refresh_from_db()
    assert done.complete and done.indexed == 0
    assert project.search_indexed_through_id == max(_rows(project))
    with mock.patch("annotation.tasks.index_task_search.delay"):
        assert task_search_sweep().queued == []


@postgres_only
@pytest.mark.django_db
def test_an_edit_rewrites_the_row_and_search_follows(api, cast, make_project):
    project = make_project(tasks=[{"text": "old words"}, {"text": "other"}])
    task_search_index(project_id=project.pk)
    project.refresh_from_db()
    task = Task.objects.get(project=project, inner_id=1)
    assert task.pk <= project.search_indexed_through_id

    task_update(task=task, user=cast.users["manager"], fields={"data": {"text": "新しい言葉 fresh"}})
    assert json.loads(_rows(project)[task.pk]) == {"text": "新しい言葉 fresh"}
    client = api("manager")
    for value, expected in (("fresh", [1]), ("新しい", [1]), ("old", [])):
        params = {"project": project.pk, "filters": _filters("search", value)}
        body = client.get(f"/api/tasks/?{urlencode(params)}").json()
        assert [Task.objects.get(pk=t["id"]).inner_id for t in body["tasks"]] == expected, value
    # An edit that leaves data alone writes no row.
    with mock.patch("annotation.services.annotations.task_search_text_refresh") as refresh:
        task_update(task=task, user=cast.users["manager"], fields={"meta": {"a": 1}})
    refresh.assert_not_called()


@postgres_only
@pytest.mark.django_db
def test_deleted_tasks_lose_their_rows(cast, make_project):
    manager = cast.users["manager"]
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(5)])
    task_search_index(project_id=project.pk)
    ids = sorted(Task.objects.filter(project=project).values_list("id", flat=True))

    task_delete(task=Task.objects.get(pk=ids[0]), user=manager)
    query = TaskQuery(selection=Selection(all=False, ids=(ids[1], ids[2])))
    project.refresh_from_db()
    task_action_run(project=project, user=manager, action="delete_tasks", query=query)
    assert set(_rows(project)) == {ids[3], ids[4]}
    project.refresh_from_db()
    project_tasks_delete(project=project, user=manager)
    assert not _rows(project)

    other = make_project(tasks=[{"text": "x"}])
    task_search_index(project_id=other.pk)
    project_delete(project=other, user=cast.users["owner"])
    assert not TaskSearchText.objects.exists()


@pytest.mark.django_db
def test_an_import_queues_the_job_on_commit_on_postgresql_only(
    cast, make_project, django_capture_on_commit_callbacks
):
    project = make_project()
    with (
        mock.patch("annotation.tasks.index_task_search.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _import(project, cast.users["owner"], ["a", "b"])
    if connection.vendor == "postgresql":
        delay.assert_called_once_with(project.pk)
    else:
        delay.assert_not_called()
        # SQLite: the job and the sweep are no-ops, and no row is written.
        assert task_search_index(project_id=project.pk).complete
        assert task_search_sweep().queued == []
        assert not TaskSearchText.objects.exists()


@postgres_only
@pytest.mark.django_db
def test_a_rare_term_reads_the_trigram_index_and_the_tail(make_project):
    """The page's plan reads candidates from the search rows and the tail, not every task."""
    from annotation.selectors import task_query_where
    from annotation.task_filters import Limits, parse_filters

    project = make_project(tasks=[{"text": f"common words {i}"} for i in range(300)] + [{"text": "zeppelin"}])
    task_search_index(project_id=project.pk)
    project.refresh_from_db()
    _analyze()
    conjunction, conditions = parse_filters(
        json.loads(_filters("search", "zeppelin")), field="filters", limits=Limits(50, 50)
    )
    where, params = task_query_where(project=project, query=TaskQuery(conjunction, conditions))
    with connection.cursor() as cursor:
        # A table this small is cheaper to scan: the plan is pinned at 100k in docs/BENCHMARKS.md;
        # here, that the query's shape can use the index at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f'EXPLAIN SELECT t."id" FROM "annotation_task" t WHERE {where} LIMIT 50', params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Candidates come from the search rows (by the trigram index or the project's, as the sizes
    # decide) and the tail, then tasks are fetched by id: no scan of the task table.
    assert "annotation_tasksearchtext" in plan and "Seq Scan on annotation_task " not in plan, plan


@postgres_only
@pytest.mark.django_db
def test_a_run_stops_at_its_time_limit_and_queues_its_continuation_behind_other_work(
    cast, make_project, settings
):
    """An import job queued while a long indexing run works must not wait for all of it (one worker)."""
    from annotation.tasks import index_task_search

    project = make_project(tasks=[{"text": f"t{i}"} for i in range(5)])
    first = task_search_index(project_id=project.pk, batch=2, seconds=0)
    assert (first.indexed, first.more, first.complete) == (2, True, False)
    project.refresh_from_db()
    assert project.search_indexed_through_id == max(_rows(project))
    assert project.search_indexed_layout_version != project.task_layout_version

    # The Celery task queues the continuation itself, once; the continuation finishes the project.
    settings.TESSERA_SEARCH_INDEX_BATCH = 2
    settings.TESSERA_SEARCH_INDEX_RUN_SECONDS = 0
    with mock.patch("annotation.tasks.index_task_search.delay") as delay:
        answer = index_task_search.run(project.pk)
    assert answer["more"] is True and answer["indexed"] == 2
    delay.assert_called_once_with(project.pk)
    settings.TESSERA_SEARCH_INDEX_RUN_SECONDS = 10
    rest = task_search_index(project_id=project.pk)
    assert rest.complete and not rest.more
    assert len(_rows(project)) == 5


@postgres_only
@pytest.mark.django_db
def test_a_run_stops_after_its_batch_when_an_import_job_waits_for_a_worker(cast, make_project):
    """On one worker an import queued behind an indexing run waits one batch, not the whole run."""
    from datetime import timedelta

    from django.utils import timezone

    from annotation.models import ImportJob

    project = make_project(tasks=[{"text": f"t{i}"} for i in range(6)])
    waiting = ImportJob.objects.create(
        project=project, created_by=cast.users["manager"], file_name="x.json", file_format="json"
    )
    first = task_search_index(project_id=project.pk, batch=2, seconds=600)
    assert (first.indexed, first.more) == (2, True)
    # A job left waiting long ago is the reaper's business: the run goes on to the end.
    ImportJob.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))
    second = task_search_index(project_id=project.pk, batch=2, seconds=600)
    assert (second.indexed, second.more, second.complete) == (4, False, True)
    assert len(_rows(project)) == 6


@postgres_only
@pytest.mark.django_db
def test_a_run_stops_after_its_batch_when_a_dataset_build_waits_for_a_worker(cast, make_project):
    """A dataset build queued right after a large import waited behind its indexing (11 s at 200k tasks)."""
    from datetime import timedelta

    from django.utils import timezone

    from exports.models import DatasetVersion

    project = make_project(tasks=[{"text": f"t{i}"} for i in range(6)])
    waiting = DatasetVersion.objects.create(
        organization_id=project.organization_id, project=project, name="v", recipe={}
    )
    first = task_search_index(project_id=project.pk, batch=2, seconds=600)
    assert (first.indexed, first.more) == (2, True)
    DatasetVersion.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(hours=1))
    second = task_search_index(project_id=project.pk, batch=2, seconds=600)
    assert (second.indexed, second.more, second.complete) == (4, False, True)


@postgres_only
@pytest.mark.django_db
def test_the_search_text_keeps_a_histogram_fine_enough_for_a_word_in_one_task_in_1000():
    """With the default 100 histogram entries a rare word was estimated at 1 % of 1M tasks, and its
    page walked the sort order (migration 0017)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'annotation_tasksearchtext'::regclass AND attname = 'text'"
        )
        assert cursor.fetchone()[0] == 1000


@postgres_only
@pytest.mark.django_db
def test_the_command_indexes_a_project_to_the_end_past_the_jobs_time_limit(make_project, settings):
    """The data table benchmark at 1M ran the command once: it stopped after the job's 10 s and left
    900k tasks to the scanned tail, so every search read them."""
    from io import StringIO

    from django.core.management import call_command

    project = make_project(tasks=[{"text": f"t{i}"} for i in range(5)])
    settings.TESSERA_SEARCH_INDEX_BATCH = 2
    settings.TESSERA_SEARCH_INDEX_RUN_SECONDS = 0  # the job would stop after its first batch
    out = StringIO()
    call_command("tessera_index_search", "--project", str(project.pk), stdout=out)

    assert len(_rows(project)) == 5
    assert "indexed 5" in out.getvalue() and "complete: True" in out.getvalue()
    project.refresh_from_db()
    assert project.search_indexed_layout_version == project.task_layout_version


@postgres_only
@pytest.mark.django_db
def test_imports_queue_one_message_while_one_waits(cast, make_project, django_capture_on_commit_callbacks):
    project = make_project()
    owner = cast.users["owner"]
    with (
        mock.patch("annotation.tasks.index_task_search.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _import(project, owner, ["a", "b"])
        _import(project, owner, ["c"])
    delay.assert_called_once_with(project.pk)

    # A run that starts takes the message's place: an import committed after it queues a new one.
    task_search_index(project_id=project.pk)
    with (
        mock.patch("annotation.tasks.index_task_search.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _import(project, owner, ["d"])
    delay.assert_called_once_with(project.pk)
