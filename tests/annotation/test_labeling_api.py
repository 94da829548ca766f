"""The labeling app's own endpoints (annotation/api/labeling.py): progress per project, the page's queue,
skip with a reason, the caller's recent annotations."""

import pytest

from annotation.models import Annotation, Task, TaskLock
from annotation.services.annotations import annotation_create
from tessera.models import AuditEvent
from tests.conftest import choice, post_json

pytestmark = pytest.mark.django_db


def tasks(n: int) -> list[dict]:
    return [{"text": f"headline {i}"} for i in range(n)]


def test_project_progress_for_the_caller(api, cast, make_project, django_assert_max_num_queries):
    project = make_project(tasks=tasks(5))
    make_project(tasks=tasks(2), title="Second")
    first, second, third = project.tasks.order_by("inner_id")[:3]
    annotation_create(task=first, user=cast.users["annotator"], result=choice("Positive"))
    annotation_create(task=second, user=cast.users["annotator2"], result=choice("Negative"))
    annotation_create(task=third, user=cast.users["annotator"], result=[], was_cancelled=True)
    with django_assert_max_num_queries(8):
        response = api("annotator").get("/api/labeling/projects/")
    assert response.status_code == 200
    rows = {row["title"]: row for row in response.json()["results"]}
    assert set(rows) == {"Sentiment", "Second"}
    assert rows["Sentiment"] | {"id": 0} == {
        "id": 0,
        "title": "Sentiment",
        "description": "",
        "role": "annotator",
        "total_tasks": 5,
        "tasks_labeled": 2,
        "tasks_left_for_me": 2,  # the skipped task is not offered again
        "done_today": 1,
        "skipped_today": 1,
        "overlap": 1,
    }
    assert rows["Second"]["tasks_left_for_me"] == 2


def test_outsider_sees_none_of_the_projects(api, make_project):
    project = make_project(tasks=tasks(1))
    assert api("outsider").get("/api/labeling/projects/").json()["results"] == []
    assert api("outsider").get(f"/api/labeling/projects/{project.pk}/").status_code == 404
    assert api("outsider").get(f"/api/labeling/projects/{project.pk}/recent").status_code == 404


def test_labeling_project_has_config_and_lock_time(api, make_project, settings):
    settings.TESSERA_TASK_LOCK_SECONDS = 120
    project = make_project(tasks=tasks(1), expert_instruction="Be kind.")
    body = api("annotator").get(f"/api/labeling/projects/{project.pk}/").json()
    assert body["label_config"] == project.label_config
    assert body["expert_instruction"] == "Be kind." and body["lock_seconds"] == 120


def test_the_pages_queue_locks_a_task_and_answers_null_at_the_end(api, cast, make_project):
    project = make_project(tasks=tasks(1))
    url = f"/api/labeling/projects/{project.pk}/next"
    response = post_json(api("annotator"), url, {})
    assert response.status_code == 200
    body = response.json()
    task = project.tasks.get()
    assert body["task"]["id"] == task.pk and body["task"]["drafts"] == []
    assert TaskLock.objects.get(task=task).user == cast.users["annotator"]
    annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    # The end of the queue is an answer, not an error (Label Studio's /next answers 404 here).
    response = post_json(api("annotator"), url, {})
    assert (response.status_code, response.json()) == (200, {"task": None})


def test_the_pages_queue_of_another_organization_is_not_found(api, make_project):
    project = make_project(tasks=tasks(1))
    response = post_json(api("outsider"), f"/api/labeling/projects/{project.pk}/next", {})
    assert response.status_code == 404
    assert not TaskLock.objects.exists()
    assert post_json(api("annotator"), "/api/labeling/projects/999999/next", {}).status_code == 404


def test_skip_stores_the_reason_and_releases_the_task(api, cast, make_project):
    project = make_project(tasks=tasks(2))
    client = api("annotator")
    task_id = client.get(f"/api/projects/{project.pk}/next").json()["id"]
    assert TaskLock.objects.filter(task_id=task_id).exists()
    response = post_json(
        client, f"/api/tasks/{task_id}/skip", {"reason": "  Not about finance ", "lead_time": 3.5}
    )
    assert response.status_code == 201
    body = response.json()
    assert (
        body["was_cancelled"] is True and body["skip_reason"] == "Not about finance" and body["result"] == []
    )
    annotation = Annotation.objects.get(pk=body["id"])
    assert annotation.completed_by == cast.users["annotator"] and annotation.lead_time == 3.5
    assert not TaskLock.objects.filter(task_id=task_id).exists()
    assert Task.objects.get(pk=task_id).cancelled_annotations == 1
    assert AuditEvent.objects.filter(action="annotation.skip", object_id=annotation.pk).exists()
    assert client.get(f"/api/projects/{project.pk}/next").json()["id"] != task_id


@pytest.mark.parametrize(
    ("reason", "code"),
    [("x" * 501, "too_long"), (42, "invalid"), ("a\x00b", "nul_character")],
)
def test_bad_skip_reason_is_refused_and_nothing_is_written(api, make_project, reason, code):
    project = make_project(tasks=tasks(1))
    task = project.tasks.get()
    response = post_json(api("annotator"), f"/api/tasks/{task.pk}/skip", {"reason": reason})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code and response.json()["error"]["field"] == "reason"
    assert not Annotation.objects.exists()


def test_skip_of_another_organizations_task_is_not_found(api, make_project, cast):
    project = make_project(tasks=tasks(1), org=cast.other_org)
    response = post_json(api("annotator"), f"/api/tasks/{project.tasks.get().pk}/skip", {"reason": "x"})
    assert response.status_code == 404
    assert not Annotation.objects.exists()


def test_recent_lists_only_the_callers_annotations_newest_first(api, cast, make_project):
    project = make_project(tasks=tasks(3))
    first, second, third = project.tasks.order_by("inner_id")
    mine_old = annotation_create(task=first, user=cast.users["annotator"], result=choice("Positive"))
    annotation_create(task=second, user=cast.users["annotator2"], result=choice("Negative"))
    mine_new = annotation_create(task=third, user=cast.users["annotator"], result=choice("Neutral"))
    body = api("annotator").get(f"/api/labeling/projects/{project.pk}/recent?limit=5").json()
    assert [row["annotation"]["id"] for row in body["results"]] == [mine_new.pk, mine_old.pk]
    assert body["results"][0]["task"]["data"] == {"text": "headline 2"}
    assert api("annotator").get(f"/api/labeling/projects/{project.pk}/recent?limit=0").status_code == 400
