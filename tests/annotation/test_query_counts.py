"""Pinned query counts on the list endpoints, on annotation submit and on /next.

A page of tasks, a submit and a /next each cost a fixed number of queries, however many tasks,
annotations or predictions the page or project holds: no query per row (N+1). When a change adds
a query on purpose, update the number here and say why in the commit.

Every test first makes one untimed request so that the token's ``last_used_at`` stamp (written
at most every ten minutes) is not counted.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Draft, Task, TaskLock
from annotation.services.annotations import annotation_create, prediction_create
from tests.conftest import choice, post_json

pytestmark = pytest.mark.django_db

# token with its user and the caller's membership (one statement), project (with its running totals),
# page of tasks, their annotations, their predictions
TASK_PAGE_QUERIES = 5
# token with membership, count, page of projects (with created_by)
PROJECT_LIST_QUERIES = 3
# token with membership, predictions (one page, or all of them streamed from one cursor)
PREDICTION_LIST_QUERIES = 2
# token with membership, task with project; in the transaction: project row shared (with its overlap),
# task row locked, the caller's earlier answer, the task's live locks and the caller's lock and draft
# (one statement), annotation insert, task counters, project totals (labeled and annotated task counts
# with them), audit event; the dashboard's member-day upsert and, because the task goes to review (overlap
# 1 here), the count of its answers waiting for a reviewer; the transaction's two statements
# (savepoint/release here). With no lock or draft of the caller on the task (as here) nothing is deleted;
# each of them present adds its DELETE.
SUBMIT_QUERIES = 13
# token with membership, project; in the transaction: the caller's held lock, drafted tasks and locks
# (one statement), candidate with its row (FOR UPDATE SKIP LOCKED), its re-check under the row lock
# (PostgreSQL only), lock upsert; the transaction's two statements. The caller's other lock is let go
# only when there is one; the task's predictions are read only when its counter says it has some, and
# the caller's draft only when their drafted tasks include it.
NEXT_QUERIES = 8 if connection.vendor == "postgresql" else 7


# token with membership, project (scoped); the caller's open answers in it and their counts of today
# (one statement): none of them reads the project's tasks
PROGRESS_QUERIES = 3


def _warm(client, url: str) -> None:
    assert client.get(url).status_code in (200, 404)


def _project_with_tasks(make_project, cast, count: int):
    project = make_project(tasks=[{"text": f"Bank {i} beat estimates."} for i in range(count)])
    owner = cast.users["owner"]
    for task in Task.objects.filter(project=project).order_by("inner_id"):
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        prediction_create(task=task, user=owner, result=choice("Negative"), model_version="v1", score=0.5)
    return project


@pytest.mark.parametrize("size", [2, 25])
def test_task_page_costs_the_same_queries_for_any_page_size(api, cast, make_project, size):
    project = _project_with_tasks(make_project, cast, size)
    client = api("manager")
    url = f"/api/tasks/?project={project.pk}&page=1&page_size=100"
    _warm(client, url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert len(body["tasks"]) == size and all(len(task["annotations"]) == 1 for task in body["tasks"])
    assert len(queries) == TASK_PAGE_QUERIES, [q["sql"] for q in queries.captured_queries]


def test_a_later_page_costs_the_same_queries_as_the_first(api, cast, make_project, django_assert_num_queries):
    project = _project_with_tasks(make_project, cast, 12)
    client = api("manager")
    _warm(client, f"/api/tasks/?project={project.pk}")
    with django_assert_num_queries(TASK_PAGE_QUERIES):
        response = client.get(f"/api/tasks/?project={project.pk}&page=3&page_size=5")
    assert [task["inner_id"] for task in response.json()["tasks"]] == [11, 12]


def test_task_page_after_a_delete_costs_one_gap_read_then_the_same_queries(
    api, cast, make_project, django_assert_num_queries
):
    project = _project_with_tasks(make_project, cast, 6)
    client = api("manager")
    second = Task.objects.get(project=project, inner_id=2)
    assert client.delete(f"/api/tasks/{second.pk}/").status_code == 204
    # The first page after the delete reads where the gaps lie, once; later pages reuse that.
    with django_assert_num_queries(TASK_PAGE_QUERIES + 1):
        response = client.get(f"/api/tasks/?project={project.pk}&page=1&page_size=3")
    body = response.json()
    # With a gap in inner_id, position still decides the page: tasks 1, 3 and 4.
    assert [task["inner_id"] for task in body["tasks"]] == [1, 3, 4] and body["total"] == 5
    with django_assert_num_queries(TASK_PAGE_QUERIES):
        response = client.get(f"/api/tasks/?project={project.pk}&page=2&page_size=3")
    assert [task["inner_id"] for task in response.json()["tasks"]] == [5, 6]


@pytest.mark.parametrize("projects", [1, 8])
def test_project_list_costs_the_same_queries_for_any_number_of_projects(
    api, make_project, django_assert_num_queries, projects
):
    for _ in range(projects):
        make_project(tasks=[{"text": "Rates rise."}])
    client = api("manager")
    _warm(client, "/api/projects/")
    with django_assert_num_queries(PROJECT_LIST_QUERIES):
        response = client.get("/api/projects/")
    assert response.json()["count"] == projects


@pytest.mark.parametrize("size", [1, 10])
@pytest.mark.parametrize("paging", ["&page=1&page_size=100", ""])
def test_prediction_list_costs_the_same_queries_for_any_number_of_predictions(
    api, cast, make_project, django_assert_num_queries, size, paging
):
    project = _project_with_tasks(make_project, cast, size)
    client = api("manager")
    _warm(client, f"/api/projects/{project.pk}/")
    with django_assert_num_queries(PREDICTION_LIST_QUERIES):
        response = client.get(f"/api/predictions/?project={project.pk}{paging}")
        # An unpaged list streams: its query runs while the body is read.
        body = response.json() if not response.streaming else json.loads(b"".join(response.streaming_content))
    assert len(body) == size


def test_submit_costs_a_fixed_number_of_queries(api, make_project, django_assert_num_queries):
    project = make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])
    client = api("annotator")
    _warm(client, f"/api/projects/{project.pk}/")
    task = Task.objects.filter(project=project).order_by("inner_id").first()
    with django_assert_num_queries(SUBMIT_QUERIES):
        response = post_json(client, f"/api/tasks/{task.pk}/annotations/", {"result": choice("Positive")})
    assert response.status_code == 201


def test_a_submit_that_ends_the_callers_lock_and_draft_adds_one_delete_for_each(
    api, make_project, django_assert_num_queries
):
    project = make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])
    client = api("annotator")
    task = client.get(f"/api/projects/{project.pk}/next").json()
    assert (
        post_json(client, f"/api/tasks/{task['id']}/drafts", {"result": choice("Neutral")}).status_code == 201
    )
    with django_assert_num_queries(SUBMIT_QUERIES + 2):
        response = post_json(client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Positive")})
    assert response.status_code == 201
    assert not Draft.objects.exists() and not TaskLock.objects.exists()


def test_next_costs_a_fixed_number_of_queries_however_many_tasks_are_done(
    api, make_project, django_assert_num_queries
):
    project = make_project(tasks=[{"text": f"Bank {i} beat estimates."} for i in range(6)])
    client = api("annotator")
    _warm(client, f"/api/projects/{project.pk}/")
    for _ in range(3):
        with django_assert_num_queries(NEXT_QUERIES):
            task = client.get(f"/api/projects/{project.pk}/next").json()
        assert (
            post_json(
                client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Neutral")}
            ).status_code
            == 201
        )


@pytest.mark.parametrize("size", [3, 30])
def test_progress_costs_the_same_queries_at_any_project_size(
    api, cast, make_project, django_assert_num_queries, size
):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(size)], maximum_annotations=3)
    for task in Task.objects.filter(project=project):
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    client = api("annotator")
    url = f"/api/labeling/projects/{project.pk}"
    client.get(url)
    with django_assert_num_queries(PROGRESS_QUERIES):
        body = client.get(url).json()
    assert body["tasks_left_for_me"] == 0


def test_a_project_that_mixes_gold_in_costs_one_statement_more_on_submit_and_next(
    api, cast, make_project, django_assert_num_queries
):
    from annotation.models import Project

    project = make_project(tasks=[{"text": f"Bank {i} beat estimates."} for i in range(6)])
    Project.objects.filter(pk=project.pk).update(gold_ratio=0.1)
    client = api("annotator")
    _warm(client, f"/api/projects/{project.pk}/")
    for _ in range(2):
        # /next: the caller's gold pace and pause (one indexed read); submit: the pace's upsert.
        with django_assert_num_queries(NEXT_QUERIES + 1):
            task = client.get(f"/api/projects/{project.pk}/next").json()
        with django_assert_num_queries(SUBMIT_QUERIES + 1 + 1):
            response = post_json(
                client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Neutral")}
            )
        assert response.status_code == 201
