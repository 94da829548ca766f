"""Bulk actions on a selection of tasks (POST /api/projects/{id}/tasks/actions/ and Label Studio's
POST /api/dm/actions), the export of a filter, the read-only task view and the task's history."""

import json

import pytest

from annotation.models import Annotation, Draft, Prediction, Task, TaskLock
from annotation.services.annotations import annotation_create, draft_save, prediction_create
from annotation.services.counters import counters_check
from tessera.models import AuditEvent
from tests.conftest import choice, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeled(cast, make_project):
    """Six tasks; 1-3 answered by the annotator (1 Positive, 2 Negative, 3 skipped), 1 also by
    annotator2 as a correction draft's parent, predictions on 1 and 4, drafts on 1 and 5."""
    project = make_project(tasks=[{"text": f"Task {i}"} for i in range(1, 7)], maximum_annotations=1)
    tasks = {task.inner_id: task for task in project.tasks.all()}
    annotator, manager = cast.users["annotator"], cast.users["manager"]
    prediction = prediction_create(task=tasks[1], user=manager, result=choice("Positive"), score=0.8)
    first = annotation_create(
        task=tasks[1], user=annotator, result=choice("Positive"), parent_prediction_id=prediction.pk
    )
    annotation_create(task=tasks[2], user=annotator, result=choice("Negative"))
    annotation_create(task=tasks[3], user=annotator, result=[], was_cancelled=True)
    prediction_create(task=tasks[4], user=manager, result=choice("Neutral"), score=0.2)
    draft_save(task=tasks[1], user=annotator, result=choice("Neutral"), annotation=first)
    draft_save(task=tasks[5], user=cast.users["annotator2"], result=choice("Neutral"))
    project.refresh_from_db()
    return project, tasks


def act(client, project, body, *, expect: int = 200):
    response = post_json(client, f"/api/projects/{project.pk}/tasks/actions/", body)
    assert response.status_code == expect, response.content[:400]
    return response.json()


def test_delete_a_selection_of_tasks_keeps_every_counter_exact(api, labeled):
    project, tasks = labeled
    body = {"action": "delete_tasks", "selectedItems": {"all": False, "included": [tasks[1].pk, tasks[3].pk]}}
    assert act(api("manager"), project, body) == {"processed": 2}
    assert sorted(Task.objects.filter(project=project).values_list("inner_id", flat=True)) == [2, 4, 5, 6]
    project.refresh_from_db()
    assert (project.task_count, project.annotation_total, project.prediction_total) == (4, 1, 1)
    assert (project.labeled_task_count, project.annotated_task_count) == (1, 1)
    assert counters_check().total == 0
    event = AuditEvent.objects.get(action="tasks.delete_tasks")
    assert event.details["processed"] == 2 and sorted(event.details["task_ids"]) == [tasks[1].pk, tasks[3].pk]
    # Pages after the delete see the new layout.
    page = api("manager").get(f"/api/tasks/?project={project.pk}&page_size=2&page=2").json()
    assert [task["inner_id"] for task in page["tasks"]] == [5, 6]


def test_all_that_match_a_filter_less_the_excluded(api, cast, labeled):
    project, tasks = labeled
    annotated = {"conjunction": "and", "items": [{"filter": "filter:tasks:annotators", "operator": "contains",
                                                  "type": "List", "value": cast.users["annotator"].pk}]}  # fmt: skip
    body = {
        "action": "delete_tasks",
        "filters": annotated,
        "selectedItems": {"all": True, "excluded": [tasks[2].pk]},
    }
    assert act(api("owner"), project, body) == {"processed": 2}
    assert sorted(Task.objects.filter(project=project).values_list("inner_id", flat=True)) == [2, 4, 5, 6]
    assert counters_check().total == 0


def test_delete_annotations_of_a_selection(api, labeled):
    project, tasks = labeled
    body = {"action": "delete_annotations", "selectedItems": {"all": True, "excluded": []}}
    assert act(api("manager"), project, body) == {"processed": 6}
    assert not Annotation.objects.filter(project=project).exists()
    # The correction's draft went with its annotation; the draft of a new answer stays.
    assert list(Draft.objects.values_list("task__inner_id", flat=True)) == [5]
    assert list(Task.objects.filter(project=project).values_list("labels", flat=True)) == [{}] * 6
    project.refresh_from_db()
    assert (project.annotation_total, project.labeled_task_count, project.annotated_task_count) == (0, 0, 0)
    assert (project.task_count, project.prediction_total) == (6, 2)
    assert counters_check().total == 0
    # Each task's history shows the bulk action.
    assert AuditEvent.objects.filter(action="task.annotations_delete", object_id=tasks[2].pk).exists()


def test_delete_predictions_of_a_selection_clears_the_annotations_link(api, labeled):
    project, tasks = labeled
    body = {"action": "delete_predictions", "selectedItems": {"all": False, "included": [tasks[1].pk]}}
    assert act(api("manager"), project, body) == {"processed": 1}
    assert list(Prediction.objects.filter(project=project).values_list("task__inner_id", flat=True)) == [4]
    assert Annotation.objects.get(task=tasks[1]).parent_prediction_id is None
    project.refresh_from_db()
    assert project.prediction_total == 1 and counters_check().total == 0


def test_label_studio_path_and_action_names(api, labeled):
    project, tasks = labeled
    client = api("manager")
    body = {"selectedItems": {"all": False, "included": [tasks[4].pk]}}
    response = post_json(client, f"/api/dm/actions?id=delete_tasks_predictions&project={project.pk}", body)
    assert response.status_code == 200 and response.json() == {"processed": 1}
    assert not Prediction.objects.filter(task=tasks[4]).exists()
    response = post_json(client, f"/api/dm/actions/?id=delete_tasks&project={project.pk}", body)
    assert response.json() == {"processed": 1} and not Task.objects.filter(pk=tasks[4].pk).exists()


BAD_ACTIONS = [
    ({"action": "archive", "selectedItems": {"all": True, "excluded": []}}, "action"),
    ({"selectedItems": {"all": True, "excluded": []}}, "action"),
    ({"action": "delete_tasks"}, "selectedItems"),
    ({"action": "delete_tasks", "selectedItems": {"all": False, "included": "1"}}, "selectedItems.included"),
    ({"action": "delete_tasks", "selectedItems": {"all": True}, "filters": {"items": [{"filter": "x"}]}},
     "filters.items[0].filter"),
    ({"action": "delete_tasks", "selectedItems": {"all": True}, "ordering": ["tasks:nope"]}, "ordering"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), BAD_ACTIONS, ids=[field for _, field in BAD_ACTIONS])
def test_bad_actions_answer_400_and_change_nothing(api, labeled, snapshot, body, field):
    project, _ = labeled
    before = snapshot()
    assert act(api("manager"), project, body, expect=400)["error"]["field"] == field
    assert snapshot() == before


def test_roles_and_other_organizations(api, labeled, snapshot):
    project, tasks = labeled
    body = {"action": "delete_tasks", "selectedItems": {"all": True, "excluded": []}}
    before = snapshot()
    for role in ("annotator", "reviewer"):
        assert act(api(role), project, body, expect=403)["error"]["code"] == "role_too_low"
        response = post_json(api(role), f"/api/dm/actions?id=delete_tasks&project={project.pk}", body)
        assert response.status_code == 403
    assert act(api("outsider"), project, body, expect=404)
    response = post_json(api("outsider"), f"/api/dm/actions?id=delete_tasks&project={project.pk}", body)
    assert response.status_code == 404
    response = post_json(api("manager"), "/api/dm/actions?id=delete_tasks", body)
    assert response.status_code == 400 and response.json()["error"]["field"] == "project"
    assert snapshot() == before
    # Annotators may still list the tasks.
    assert api("annotator").get(f"/api/tasks/?project={project.pk}").status_code == 200


def test_an_outsiders_selection_cannot_reach_our_tasks(api, labeled, make_project, cast):
    project, tasks = labeled
    theirs = make_project(org=cast.other_org, tasks=[{"text": "theirs"}])
    body = {"action": "delete_tasks", "selectedItems": {"all": False, "included": [tasks[1].pk]}}
    assert act(api("outsider"), theirs, body) == {"processed": 0}
    assert Task.objects.filter(pk=tasks[1].pk).exists()


def test_export_of_the_current_filter(api, labeled):
    project, tasks = labeled
    labeled_only = {"conjunction": "and", "items": [{"filter": "filter:tasks:state", "operator": "equal",
                                                     "type": "String", "value": "labeled"}]}  # fmt: skip
    url = f"/api/projects/{project.pk}/export?exportType=JSON&download_all_tasks=true&filters={json.dumps(labeled_only)}"
    response = api("reviewer").get(url)
    exported = json.loads(b"".join(response.streaming_content))
    assert sorted(task["id"] for task in exported) == [tasks[1].pk, tasks[2].pk]
    csv_url = url.replace("exportType=JSON", "exportType=CSV")
    rows = b"".join(api("reviewer").get(csv_url).streaming_content).decode().strip().splitlines()
    assert len(rows) == 3
    bad = api("reviewer").get(f"/api/projects/{project.pk}/export?filters=%7B")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "filters"


def test_reading_a_task_takes_no_lock_and_changes_no_queue(api, cast, labeled, snapshot):
    project, tasks = labeled
    before = snapshot()
    for role in ("annotator", "reviewer", "manager"):
        assert api(role).get(f"/api/tasks/{tasks[6].pk}/").status_code == 200
        assert api(role).get(f"/api/tasks/{tasks[6].pk}/history/").status_code in (200, 403)
    assert snapshot() == before
    assert not TaskLock.objects.exists()
    # The queue hands out what it would have: annotator2's drafted task, then the first open one.
    taken = post_json(api("annotator2"), f"/api/projects/{project.pk}/next", {}).json()
    assert taken["id"] == tasks[5].pk
    taken = post_json(api("reviewer"), f"/api/projects/{project.pk}/next", {}).json()
    assert taken["id"] == tasks[3].pk


def test_history_lists_who_did_what_when(api, cast, labeled):
    project, tasks = labeled
    events = api("reviewer").get(f"/api/tasks/{tasks[1].pk}/history/").json()
    actions = [(event["action"], event["actor"]["email"] if event["actor"] else None) for event in events]
    assert ("prediction.create", "manager@acme.test") in actions
    assert ("annotation.create", "annotator@acme.test") in actions
    assert all(event["created_at"] for event in events)
    # An annotator sees their own annotations' events, and nothing of a task they did not annotate.
    own = api("annotator").get(f"/api/tasks/{tasks[1].pk}/history/").json()
    assert [event["action"] for event in own] == ["annotation.create"]
    response = api("annotator2").get(f"/api/tasks/{tasks[1].pk}/history/")
    assert response.status_code == 403
    assert api("outsider").get(f"/api/tasks/{tasks[1].pk}/history/").status_code == 404
    # A bulk action shows in each task's history.
    act(
        api("manager"),
        project,
        {"action": "delete_annotations", "selectedItems": {"all": False, "included": [tasks[2].pk]}},
    )
    events = api("reviewer").get(f"/api/tasks/{tasks[2].pk}/history/").json()
    assert (
        events[-1]["action"] == "task.annotations_delete"
        and events[-1]["actor"]["email"] == "manager@acme.test"
    )
