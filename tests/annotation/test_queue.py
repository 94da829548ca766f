"""The labeling queue: /api/projects/{id}/next hands each annotator a task that still needs them."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Sampling, TaskLock
from annotation.services.queue import next_task
from tessera.models import Role
from tessera.services import user_upsert
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db


def take(api, role: str, project):
    return api(role).get(f"/api/projects/{project.pk}/next")


def submit(api, role: str, task_id: int, **body):
    return post_json(api(role), f"/api/tasks/{task_id}/annotations/", {"result": choice("Positive"), **body})


def inner_ids(project) -> dict[int, int]:
    return dict(project.tasks.values_list("pk", "inner_id"))


@pytest.fixture
def five_tasks(make_project):
    return make_project(tasks=[{"text": f"task {i}"} for i in range(1, 6)])


def test_next_gives_the_first_unlabeled_task_in_order_and_locks_it(api, five_tasks, cast):
    response = take(api, "annotator", five_tasks)
    assert response.status_code == 200
    body = response.json()
    assert body["inner_id"] == 1
    assert body["data"] == {"text": "task 1"}
    assert body["drafts"] == [] and body["annotations"] == []
    lock = TaskLock.objects.get()
    assert (lock.task_id, lock.user) == (body["id"], cast.users["annotator"])
    assert lock.expires_at > timezone.now()


def test_next_skips_tasks_the_caller_already_annotated(api, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}], maximum_annotations=2)
    first = take(api, "annotator", project).json()["id"]
    submit(api, "annotator", first)
    assert take(api, "annotator", project).json()["inner_id"] == 2


def test_next_skips_tasks_the_caller_skipped(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    submit(api, "annotator", first, result=[], was_cancelled=True)
    assert take(api, "annotator", five_tasks).json()["id"] != first


def test_next_skips_tasks_that_have_enough_annotations(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    submit(api, "annotator", first)
    assert take(api, "annotator2", five_tasks).json()["inner_id"] == 2


def test_next_skips_a_task_locked_by_someone_else(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()
    second = take(api, "annotator2", five_tasks).json()
    assert (first["inner_id"], second["inner_id"]) == (1, 2)


def test_an_expired_lock_of_someone_else_does_not_hold_the_task(api, five_tasks):
    take(api, "annotator", five_tasks)
    TaskLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert take(api, "annotator2", five_tasks).json()["inner_id"] == 1


def test_a_repeat_call_returns_the_held_task(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    assert take(api, "annotator", five_tasks).json()["id"] == first
    assert TaskLock.objects.count() == 1


def test_a_held_task_that_others_filled_meanwhile_is_not_handed_back(api, five_tasks, cast):
    held = take(api, "annotator", five_tasks).json()["id"]
    # A manager may add answers to any task; here they fill the one the annotator holds.
    assert submit(api, "manager", held).status_code == 201
    again = take(api, "annotator", five_tasks)
    assert again.status_code == 200
    assert again.json()["id"] != held


def test_the_held_task_comes_back_with_the_callers_draft(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    post_json(api("annotator"), f"/api/tasks/{first}/drafts", {"result": choice("Neutral")})
    post_json(api("annotator2"), f"/api/tasks/{first}/drafts", {"result": choice("Negative")})
    drafts = take(api, "annotator", five_tasks).json()["drafts"]
    assert [d["result"] for d in drafts] == [choice("Neutral")]


def test_submitting_releases_the_lock(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    submit(api, "annotator", first)
    assert not TaskLock.objects.filter(task_id=first).exists()


def test_next_answers_404_no_more_tasks_at_the_end(api, five_tasks):
    for _ in range(5):
        submit(api, "annotator", take(api, "annotator", five_tasks).json()["id"])
    response = take(api, "annotator", five_tasks)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_more_tasks"
    assert take(api, "annotator2", five_tasks).status_code == 404


def test_next_in_an_empty_project_answers_no_more_tasks(api, make_project):
    response = take(api, "annotator", make_project())
    assert (response.status_code, response.json()["error"]["code"]) == (404, "no_more_tasks")


def test_with_overlap_2_two_annotators_label_the_same_task_and_a_third_does_not(api, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}], maximum_annotations=2)
    first = take(api, "annotator", project).json()["id"]
    assert take(api, "annotator2", project).json()["id"] == first
    assert take(api, "reviewer", project).json()["id"] != first
    submit(api, "annotator", first)
    submit(api, "annotator2", first)
    assert project.tasks.get(pk=first).is_labeled


def test_uniform_sampling_still_covers_every_task(api, make_project):
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(12)], sampling=Sampling.UNIFORM)
    seen = []
    while (response := take(api, "annotator", project)).status_code == 200:
        seen.append(response.json()["id"])
        submit(api, "annotator", seen[-1])
    assert sorted(seen) == sorted(inner_ids(project))
    assert response.json()["error"]["code"] == "no_more_tasks"


def test_changing_sampling_through_the_api_is_checked(api, five_tasks):
    response = patch_json(api("manager"), f"/api/projects/{five_tasks.pk}/", {"sampling": "Whatever"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "sampling"


def test_renewing_a_lock_extends_it_and_releasing_frees_the_task(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    TaskLock.objects.update(expires_at=timezone.now() + timedelta(seconds=5))
    response = post_json(api("annotator"), f"/api/tasks/{first}/lock", {})
    assert response.status_code == 200
    assert TaskLock.objects.get().expires_at > timezone.now() + timedelta(seconds=60)
    assert api("annotator").delete(f"/api/tasks/{first}/lock").status_code == 204
    assert not TaskLock.objects.exists()
    assert take(api, "annotator2", five_tasks).json()["id"] == first


def test_renewing_a_lapsed_lock_after_someone_else_took_the_task_answers_lock_lost(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    TaskLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert take(api, "annotator2", five_tasks).json()["id"] == first
    response = post_json(api("annotator"), f"/api/tasks/{first}/lock", {})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "lock_lost")


def test_releasing_someone_elses_lock_leaves_it_alone(api, five_tasks):
    first = take(api, "annotator", five_tasks).json()["id"]
    assert api("annotator2").delete(f"/api/tasks/{first}/lock").status_code == 204
    assert TaskLock.objects.filter(task_id=first).exists()


def race(project, users) -> list[int]:
    """Every user calls next_task at the same instant, each on a connection of its own."""
    barrier = threading.Barrier(len(users))
    taken: list[int] = []
    errors: list[BaseException] = []

    def work(user):
        try:
            barrier.wait()
            taken.append(next_task(project=project, user=user).pk)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return taken


@pytest.mark.parametrize("sampling", [Sampling.SEQUENTIAL, Sampling.UNIFORM])
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_get_the_same_task(make_project, cast, sampling):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's concurrent transactions")
    callers = 8
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(callers * 2)], sampling=sampling)
    users = [
        user_upsert(email=f"crowd{i}@acme.test", organization=cast.org, role=Role.ANNOTATOR)[0]
        for i in range(callers)
    ]
    for _ in range(30):  # rounds from fresh locks: before the fix, 30 rounds caught the race every time
        TaskLock.objects.all().delete()
        taken = race(project, users)
        assert len(taken) == callers
        assert len(set(taken)) == callers, sorted(taken)


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_overfill_a_task_under_overlap_2(make_project, cast):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's concurrent transactions")
    callers = 8
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(callers)], maximum_annotations=2)
    users = [
        user_upsert(email=f"crowd{i}@acme.test", organization=cast.org, role=Role.ANNOTATOR)[0]
        for i in range(callers)
    ]
    for _ in range(15):
        TaskLock.objects.all().delete()
        taken = race(project, users)
        assert max(Counter(taken).values()) <= 2, sorted(taken)
        assert len(taken) == callers


def test_after_the_lock_is_let_go_next_brings_back_the_task_with_the_callers_draft(api, make_project):
    # The labeling page releases its lock when the page goes away, a reload included; on random
    # sampling the next /next would otherwise start anywhere and leave the draft behind.
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(40)], sampling=Sampling.UNIFORM)
    first = take(api, "annotator", project).json()["id"]
    post_json(api("annotator"), f"/api/tasks/{first}/drafts", {"result": choice("Neutral")})
    assert api("annotator").delete(f"/api/tasks/{first}/lock").status_code == 204
    for _ in range(3):
        body = take(api, "annotator", project).json()
        assert body["id"] == first
        assert [d["result"] for d in body["drafts"]] == [choice("Neutral")]
        api("annotator").delete(f"/api/tasks/{first}/lock")


def test_a_drafted_task_that_someone_else_finished_is_not_brought_back(api, make_project):
    project = make_project(tasks=[{"text": "only"}, {"text": "second"}])
    first = take(api, "annotator", project).json()["id"]
    post_json(api("annotator"), f"/api/tasks/{first}/drafts", {"result": choice("Neutral")})
    api("annotator").delete(f"/api/tasks/{first}/lock")
    assert submit(api, "annotator2", first).status_code == 201
    assert take(api, "annotator", project).json()["id"] != first


def test_taking_a_task_in_another_project_lets_go_of_the_one_held(api, make_project):
    first_project = make_project(tasks=[{"text": "a"}])
    second_project = make_project(tasks=[{"text": "b"}])
    held = take(api, "annotator", first_project).json()["id"]
    taken = take(api, "annotator", second_project).json()["id"]
    assert list(TaskLock.objects.values_list("task_id", flat=True)) == [taken]
    assert take(api, "annotator2", first_project).json()["id"] == held


def test_an_expired_lock_of_the_caller_is_let_go_when_they_take_another_task(api, five_tasks, cast):
    first = take(api, "annotator", five_tasks).json()["id"]
    TaskLock.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert take(api, "annotator2", five_tasks).json()["id"] == first
    second = take(api, "annotator", five_tasks).json()["id"]
    assert second != first
    locks = dict(TaskLock.objects.values_list("user__email", "task_id"))
    assert locks == {cast.users["annotator"].email: second, cast.users["annotator2"].email: first}


def test_next_hands_out_the_tasks_predictions_best_first_and_none_for_a_task_without(api, cast, five_tasks):
    from annotation.services.annotations import prediction_create

    first = five_tasks.tasks.get(inner_id=1)
    for label, score in (("Negative", 0.2), ("Positive", 0.9)):
        prediction_create(
            task=first, user=cast.users["owner"], result=choice(label), model_version="v1", score=score
        )
    body = take(api, "annotator", five_tasks).json()
    assert (body["id"], body["total_predictions"]) == (first.pk, 2)
    assert [p["score"] for p in body["predictions"]] == [0.9, 0.2]
    submit(api, "annotator", first.pk)
    body = take(api, "annotator", five_tasks).json()
    assert (body["inner_id"], body["predictions"]) == (2, [])


def test_a_draft_older_than_the_callers_latest_drafted_tasks_still_comes_back_with_its_task(
    api, cast, make_project
):
    from annotation.models import Draft
    from annotation.services.annotations import draft_save

    project = make_project(tasks=[{"text": f"t{i}"} for i in range(1, 6)])
    tasks = list(project.tasks.order_by("inner_id"))
    annotator = cast.users["annotator"]
    for task in tasks[:4]:
        draft_save(task=task, user=annotator, result=choice("Neutral"))
    Draft.objects.filter(task=tasks[0]).update(updated_at=timezone.now() - timedelta(hours=1))
    # Others hold the caller's three latest drafted tasks: /next passes over them to the first task,
    # whose draft is older than those three.
    for task, role in zip(tasks[1:4], ("annotator2", "reviewer", "manager"), strict=True):
        TaskLock.objects.create(
            task=task, user=cast.users[role], expires_at=timezone.now() + timedelta(minutes=5)
        )
    body = take(api, "annotator", project).json()
    assert body["id"] == tasks[0].pk
    assert [d["result"] for d in body["drafts"]] == [choice("Neutral")]
