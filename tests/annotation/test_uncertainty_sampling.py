"""Uncertainty sampling (active learning): /next hands out the unlabeled tasks the latest model is least
sure of first (Task.uncertainty, highest first, unscored tasks last, ties by inner_id), off a partial
index, and every other rule of the queue still holds."""

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Project, Sampling, Task, TaskLock
from annotation.services.annotations import annotation_create
from annotation.services.queue import _sql, uncertain_candidate_sql
from tessera.models import Membership
from tessera.rows import db_datetime
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db

# inner_id -> uncertainty; the expected hand-out order is 3 and 6 (tied, by inner_id), 4, 1, then the
# unscored 2 and 5 in import order.
UNCERTAINTY = {1: 0.1, 2: None, 3: 0.9, 4: 0.5, 5: None, 6: 0.9}
EXPECTED_ORDER = [3, 6, 4, 1, 2, 5]


def take(api, role: str, project: Project):
    return api(role).get(f"/api/projects/{project.pk}/next")


def submit(api, role: str, task_id: int):
    response = post_json(api(role), f"/api/tasks/{task_id}/annotations/", {"result": choice("Positive")})
    assert response.status_code == 201, response.content
    return response


def score(project: Project, values: dict[int, float | None]) -> None:
    for inner_id, value in values.items():
        Task.objects.filter(project=project, inner_id=inner_id).update(uncertainty=value)


@pytest.fixture
def scored(make_project):
    project = make_project(tasks=[{"text": f"task {i}"} for i in range(1, 7)], sampling=Sampling.UNCERTAINTY)
    score(project, UNCERTAINTY)
    return project


def test_next_hands_out_the_least_certain_first_then_unscored_tasks_in_order(api, scored):
    handed = []
    for _ in EXPECTED_ORDER:
        body = take(api, "annotator", scored).json()
        handed.append(body["inner_id"])
        submit(api, "annotator", body["id"])
    assert handed == EXPECTED_ORDER
    assert take(api, "annotator", scored).json()["error"]["code"] == "no_more_tasks"


def test_sequential_sampling_ignores_uncertainty(api, scored):
    scored.sampling = Sampling.SEQUENTIAL
    scored.save(update_fields=["sampling"])
    assert take(api, "annotator", scored).json()["inner_id"] == 1


def test_two_annotators_get_the_two_least_certain_tasks(api, scored):
    first = take(api, "annotator", scored).json()
    second = take(api, "annotator2", scored).json()
    assert (first["inner_id"], second["inner_id"]) == (3, 6)
    assert TaskLock.objects.count() == 2


def test_with_overlap_two_annotators_share_the_least_certain_task(api, make_project):
    project = make_project(
        tasks=[{"text": "a"}, {"text": "b"}], sampling=Sampling.UNCERTAINTY, maximum_annotations=2
    )
    score(project, {1: 0.2, 2: 0.8})
    assert take(api, "annotator", project).json()["inner_id"] == 2
    assert take(api, "annotator2", project).json()["inner_id"] == 2
    # The caller's own answered task is passed over, though still unlabeled for the overlap.
    submit(api, "annotator", Task.objects.get(project=project, inner_id=2).pk)
    assert take(api, "annotator", project).json()["inner_id"] == 1


def test_a_refit_that_rescores_tasks_changes_the_next_task(api, scored):
    first = take(api, "annotator", scored).json()
    submit(api, "annotator", first["id"])
    # The job runner writes new scores after a refit: task 2, unscored until now, is the least certain.
    score(scored, {2: 0.99})
    assert take(api, "annotator", scored).json()["inner_id"] == 2


def test_a_task_with_a_draft_resumes_before_a_less_certain_one(api, scored):
    task = Task.objects.get(project=scored, inner_id=1)
    drafted = post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Neutral")})
    assert drafted.status_code in (200, 201), drafted.content
    body = take(api, "annotator", scored).json()
    assert body["inner_id"] == 1
    assert [draft["result"] for draft in body["drafts"]] == [choice("Neutral")]


def test_a_gold_task_is_mixed_in_before_the_least_certain(api, cast, scored):
    gold = Task.objects.get(project=scored, inner_id=5)
    membership = Membership.objects.get(user=cast.users["manager"], organization=cast.org)
    annotation_create(
        task=gold,
        user=cast.users["manager"],
        result=choice("Positive"),
        ground_truth=True,
        membership=membership,
    )
    Project.objects.filter(pk=scored.pk).update(gold_ratio=1.0)
    assert take(api, "annotator", scored).json()["inner_id"] == 5


def test_a_members_only_project_still_refuses_non_members(api, scored):
    assert (
        patch_json(api("manager"), f"/api/projects/{scored.pk}/", {"members_only": True}).status_code == 200
    )
    refused = take(api, "annotator", scored)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_a_project_member")


def test_the_project_api_accepts_uncertainty_sampling_and_the_refit_interval(api, make_project):
    project = make_project()
    manager = api("manager")
    response = patch_json(
        manager,
        f"/api/projects/{project.pk}/",
        {"sampling": "Uncertainty sampling", "prelabel_refit_every": 0},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["sampling"], response.json()["prelabel_refit_every"]) == (
        "Uncertainty sampling",
        0,
    )
    project.refresh_from_db()
    assert (project.sampling, project.prelabel_refit_every) == (Sampling.UNCERTAINTY, 0)
    for bad in (-1, 1_000_001, "ten", 2.5, True):
        refused = patch_json(manager, f"/api/projects/{project.pk}/", {"prelabel_refit_every": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["field"] == "prelabel_refit_every"
    project.refresh_from_db()
    assert project.prelabel_refit_every == 0


def _plan(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test table is small enough that a scan and a sort would be cheaper; the question is
            # whether the query's shape can take its order from the index at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_the_candidate_is_read_off_the_uncertainty_index_without_a_sort(cast, scored):
    sql = _sql(uncertain_candidate_sql())
    annotator = cast.users["annotator"].pk
    params: list = [scored.pk, annotator, annotator, db_datetime(timezone.now()), 1]
    if connection.vendor == "postgresql":
        # The statement /next runs there: past rows already passed over, each row locked.
        sql = sql.replace("ORDER BY", 'AND NOT (t."id" = ANY(%s))\nORDER BY') + " FOR UPDATE OF t SKIP LOCKED"
        params.append([])
    plan = _plan(sql, params)
    assert "task_queue_uncertain" in plan, plan
    # No sort of the project's tasks: PostgreSQL's Sort node, SQLite's temporary B-tree.
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
