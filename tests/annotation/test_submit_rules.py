"""One answer per annotator, within the overlap, on a task nobody else holds; and a lock POST that only renews.

Annotators and reviewers are refused (409, with a code saying why); managers and above may still add
annotations to any task through the API, as Label Studio allows.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Task, TaskLock
from annotation.services.annotations import task_update
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db


def submit(api, role: str, task: Task, **body):
    return post_json(api(role), f"/api/tasks/{task.pk}/annotations/", {"result": choice("Positive"), **body})


def skip(api, role: str, task: Task):
    return post_json(api(role), f"/api/tasks/{task.pk}/skip", {"reason": "unclear"})


def take(api, role: str, project):
    return api(role).get(f"/api/projects/{project.pk}/next")


def counters(task: Task) -> tuple[int, int, bool]:
    task.refresh_from_db()
    return task.total_annotations, task.cancelled_annotations, task.is_labeled


def refused(response, code: str) -> None:
    assert response.status_code == 409, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and set(error) == {"code", "message", "field"}


@pytest.fixture
def task(make_project):
    return make_project(tasks=[{"text": "Rates rise."}], maximum_annotations=2).tasks.get()


# --- one answer per user ----------------------------------------------------------------------------


def test_a_second_submit_by_the_same_annotator_is_refused_and_writes_nothing(api, task):
    first = submit(api, "annotator", task)
    assert first.status_code == 201
    second = submit(api, "annotator", task, result=choice("Negative"))
    refused(second, "already_answered")
    assert f"/api/annotations/{first.json()['id']}/" in second.json()["error"]["message"]
    assert Annotation.objects.filter(task=task).count() == 1
    assert counters(task) == (1, 0, False)


def test_a_skip_is_the_annotators_answer_a_second_skip_or_a_submit_is_refused(api, task):
    assert skip(api, "annotator", task).status_code == 201
    refused(skip(api, "annotator", task), "already_answered")
    refused(submit(api, "annotator", task), "already_answered")
    assert counters(task) == (0, 1, False)


def test_a_reviewer_answers_once_too(api, task):
    assert submit(api, "reviewer", task).status_code == 201
    refused(submit(api, "reviewer", task), "already_answered")


def test_the_answer_is_changed_with_a_patch(api, task):
    skipped = skip(api, "annotator", task).json()["id"]
    response = patch_json(
        api("annotator"),
        f"/api/annotations/{skipped}/",
        {"was_cancelled": False, "result": choice("Positive")},
    )
    assert response.status_code == 200
    assert counters(task) == (1, 0, False)


# --- the overlap ------------------------------------------------------------------------------------


def test_a_submit_to_a_task_at_its_overlap_is_refused(api, task):
    assert submit(api, "annotator", task).status_code == 201
    assert submit(api, "annotator2", task).status_code == 201
    refused(submit(api, "reviewer", task), "overlap_reached")
    assert Annotation.objects.filter(task=task).count() == 2
    assert counters(task) == (2, 0, True)


def test_turning_a_skip_into_an_answer_on_a_full_task_is_refused(api, task):
    skipped = skip(api, "reviewer", task).json()["id"]
    assert submit(api, "annotator", task).status_code == 201
    assert submit(api, "annotator2", task).status_code == 201
    response = patch_json(
        api("reviewer"),
        f"/api/annotations/{skipped}/",
        {"was_cancelled": False, "result": choice("Positive")},
    )
    refused(response, "overlap_reached")
    assert Annotation.objects.get(pk=skipped).was_cancelled
    assert counters(task) == (2, 1, True)


def test_a_skip_takes_no_place_so_a_full_task_may_still_be_skipped(api, task):
    submit(api, "annotator", task)
    submit(api, "annotator2", task)
    assert skip(api, "reviewer", task).status_code == 201
    assert counters(task) == (2, 1, True)


def test_managers_may_add_annotations_to_any_task_as_label_studio_allows(api, task):
    for role in ("annotator", "annotator2", "manager", "manager", "admin", "owner"):
        assert submit(api, role, task).status_code == 201, role
    assert counters(task) == (6, 0, True)


# --- locks of others --------------------------------------------------------------------------------


def test_a_submit_to_a_task_others_hold_is_refused(api, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}])
    task = project.tasks.get()
    assert take(api, "annotator2", project).json()["id"] == task.pk
    refused(submit(api, "annotator", task), "task_locked")
    assert not Annotation.objects.exists()
    # The holder submits as usual.
    assert submit(api, "annotator2", task).status_code == 201


def test_a_lock_of_another_leaves_a_place_when_the_overlap_has_room(api, task):
    assert take(api, "annotator2", task.project).json()["id"] == task.pk
    assert submit(api, "annotator", task).status_code == 201
    # Both places are now taken: one answered, one held.
    refused(submit(api, "reviewer", task), "task_locked")


def test_annotators_holding_the_task_both_submit_with_overlap_2(api, task):
    assert take(api, "annotator", task.project).json()["id"] == task.pk
    assert take(api, "annotator2", task.project).json()["id"] == task.pk
    assert submit(api, "annotator", task).status_code == 201
    assert submit(api, "annotator2", task).status_code == 201
    assert counters(task) == (2, 0, True)


def test_an_expired_lock_of_another_does_not_hold_the_task(api, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}])
    task = project.tasks.get()
    take(api, "annotator2", project)
    TaskLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert submit(api, "annotator", task).status_code == 201


def test_a_manager_may_submit_to_a_task_others_hold(api, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}])
    task = project.tasks.get()
    take(api, "annotator2", project)
    assert submit(api, "manager", task).status_code == 201


# --- the lock POST renews, never takes --------------------------------------------------------------


def test_posting_a_lock_on_an_open_task_the_caller_does_not_hold_takes_nothing(api, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}])
    second = project.tasks.order_by("inner_id").last()
    response = post_json(api("annotator"), f"/api/tasks/{second.pk}/lock", {})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "lock_lost")
    assert not TaskLock.objects.exists()
    # The queue still hands out tasks in its own order.
    assert take(api, "annotator", project).json()["id"] != second.pk


def test_posting_a_lock_on_a_task_someone_else_holds_takes_nothing(api, make_project):
    project = make_project(tasks=[{"text": "a"}], maximum_annotations=2)
    task = project.tasks.get()
    take(api, "annotator2", project)
    response = post_json(api("annotator"), f"/api/tasks/{task.pk}/lock", {})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "lock_lost")
    assert list(TaskLock.objects.values_list("user__email", flat=True)) == ["annotator2@acme.test"]


def test_a_lapsed_lock_that_nobody_took_is_renewed(api, make_project):
    project = make_project(tasks=[{"text": "a"}])
    task_id = take(api, "annotator", project).json()["id"]
    TaskLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post_json(api("annotator"), f"/api/tasks/{task_id}/lock", {})
    assert response.status_code == 200
    assert TaskLock.objects.get().expires_at > timezone.now() + timedelta(seconds=60)


def test_after_submitting_the_lock_cannot_be_renewed(api, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}])
    task = Task.objects.get(pk=take(api, "annotator", project).json()["id"])
    assert submit(api, "annotator", task).status_code == 201
    response = post_json(api("annotator"), f"/api/tasks/{task.pk}/lock", {})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "lock_lost")
    assert not TaskLock.objects.exists()


# --- a second delete --------------------------------------------------------------------------------


def test_a_second_delete_of_an_annotation_prediction_or_task_is_a_404_and_subtracts_nothing(api, task):
    manager = api("manager")
    annotation = submit(api, "annotator", task).json()["id"]
    prediction = post_json(
        manager, "/api/predictions/", {"task": task.pk, "result": choice("Negative")}
    ).json()["id"]
    for path in (f"/api/annotations/{annotation}/", f"/api/predictions/{prediction}/"):
        assert manager.delete(path).status_code == 204
        assert manager.delete(path).status_code == 404
    assert counters(task) == (0, 0, False)
    task.refresh_from_db()
    assert task.total_predictions == 0
    assert manager.delete(f"/api/tasks/{task.pk}/").status_code == 204
    assert manager.delete(f"/api/tasks/{task.pk}/").status_code == 404
    task.project.refresh_from_db()
    assert (task.project.task_count, task.project.annotation_total, task.project.prediction_total) == (
        0,
        0,
        0,
    )


def test_a_task_edit_from_a_stale_read_keeps_the_counters_of_submits_since(api, task, cast):
    stale = Task.objects.select_related("project").get(pk=task.pk)  # read as the edit's view reads it
    assert submit(api, "annotator", task).status_code == 201
    assert submit(api, "annotator2", task).status_code == 201
    task_update(task=stale, user=cast.users["manager"], fields={"meta": {"source": "wire"}})
    task.refresh_from_db()
    assert (task.meta, task.total_annotations, task.is_labeled) == ({"source": "wire"}, 2, True)
