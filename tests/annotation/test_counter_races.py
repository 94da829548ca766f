"""Writes that race on one task or project end with exact counters and no over-annotation, every time.

Each test runs its race several times in real threads, one database connection each. On PostgreSQL
the threads' transactions truly overlap and the row locks of annotation/services/counters.py decide;
SQLite runs one writer at a time, so there the races check that a writer that waited acts on what
the one before it left (a stale row read before the wait is the old bug on both).
After every round ``counters_check`` recounts every counter from the rows.
"""

import json
import threading
from functools import partial

import pytest
from django.db import connection

from annotation.importing.parsers import to_task_item
from annotation.models import Annotation, Prediction, Project, Task
from annotation.services.annotations import (
    annotation_create,
    annotation_delete,
    annotation_update,
    prediction_create,
    prediction_delete,
    task_delete,
    task_update,
)
from annotation.services.counters import counters_check
from annotation.services.imports import tasks_import
from annotation.services.prediction_import import predictions_import
from annotation.services.projects import project_delete, project_tasks_delete, project_update
from tessera.errors import ApplicationError
from tessera.models import Membership, Role
from tessera.services import user_upsert
from tests.conftest import choice

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def race(*calls) -> list:
    """Run each call in its own thread, all released at once; return each one's result or the
    ApplicationError it raised. Any other error (a 500: a deadlock, an integrity error) fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)
    unexpected: list[BaseException] = []

    def run(index: int, call) -> None:
        try:
            barrier.wait()
            outcomes[index] = call()
        except ApplicationError as error:
            outcomes[index] = error
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            unexpected.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not unexpected, unexpected
    return outcomes


def codes(outcomes: list) -> list[str]:
    return sorted(outcome.code if isinstance(outcome, ApplicationError) else "ok" for outcome in outcomes)


def assert_counters_exact() -> None:
    report = counters_check()
    assert report.total == 0, report.examples


def assert_not_over_annotated(project: Project) -> None:
    overlap = Project.objects.get(pk=project.pk).maximum_annotations
    for task in Task.objects.filter(project=project):
        submitted = Annotation.objects.filter(task=task, was_cancelled=False).count()
        assert submitted <= overlap, (task.pk, submitted, overlap)


def membership(user) -> Membership:
    return Membership.objects.get(user=user)


@pytest.fixture
def annotators(cast):
    """Six annotators of Acme."""
    users = [cast.users["annotator"], cast.users["annotator2"]]
    for number in range(3, 7):
        user, _ = user_upsert(
            email=f"annotator{number}@acme.test", organization=cast.org, role=Role.ANNOTATOR
        )
        users.append(user)
    return users


def fresh_task(make_project, **fields) -> Task:
    return make_project(tasks=[{"text": "Rates rise."}], **fields).tasks.get()


# --- submit against submit ----------------------------------------------------------------------------


def test_ten_concurrent_submits_by_one_annotator_make_one_annotation(make_project, cast):
    user = cast.users["annotator"]
    for _ in range(ROUNDS):
        task = fresh_task(make_project, maximum_annotations=3)
        outcomes = race(*[partial(annotation_create, task=task, user=user, result=choice("Positive"))] * 10)
        assert codes(outcomes) == ["already_answered"] * 9 + ["ok"]
        assert Annotation.objects.filter(task=task).count() == 1
        assert_counters_exact()


def test_ten_concurrent_submits_through_the_api_answer_one_201_and_nine_409s(make_project, api):
    client = api("annotator")
    for _ in range(ROUNDS):
        task = fresh_task(make_project, maximum_annotations=3)
        url = f"/api/tasks/{task.pk}/annotations/"
        body = json.dumps({"result": choice("Positive")})
        outcomes = race(*[partial(client.post, url, data=body, content_type="application/json")] * 10)
        assert sorted(response.status_code for response in outcomes) == [201] + [409] * 9
        assert Annotation.objects.filter(task=task).count() == 1
        assert_counters_exact()


def test_six_annotators_at_once_on_an_overlap_3_task_make_three_annotations(make_project, annotators):
    for _ in range(ROUNDS):
        task = fresh_task(make_project, maximum_annotations=3)
        calls = [
            partial(annotation_create, task=task, user=user, result=choice("Neutral")) for user in annotators
        ]
        outcomes = race(*calls)
        assert codes(outcomes) == ["ok"] * 3 + ["overlap_reached"] * 3
        assert_not_over_annotated(task.project)
        assert_counters_exact()


# --- deletes ------------------------------------------------------------------------------------------


def test_two_deletes_of_one_annotation_subtract_once_and_the_second_is_a_404(make_project, cast):
    manager = cast.users["manager"]
    for _ in range(ROUNDS):
        task = fresh_task(make_project)
        annotation = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        outcomes = race(
            *[partial(annotation_delete, annotation=annotation, user=manager, membership=membership(manager))]
            * 2
        )
        assert codes(outcomes) == ["not_found", "ok"]
        task.refresh_from_db()
        assert (task.total_annotations, task.is_labeled) == (0, False)
        assert_counters_exact()


def test_two_deletes_of_one_prediction_subtract_once(make_project, cast):
    manager = cast.users["manager"]
    for _ in range(ROUNDS):
        task = fresh_task(make_project)
        prediction = prediction_create(task=task, user=manager, result=choice("Positive"))
        outcomes = race(*[partial(prediction_delete, prediction=prediction, user=manager)] * 2)
        assert codes(outcomes) == ["not_found", "ok"]
        assert_counters_exact()


def test_two_deletes_of_one_task_subtract_once(make_project, cast):
    manager = cast.users["manager"]
    for _ in range(ROUNDS):
        project = make_project(tasks=[{"text": "a"}, {"text": "b"}])
        task = project.tasks.order_by("inner_id").first()
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        prediction_create(task=task, user=manager, result=choice("Negative"))
        outcomes = race(*[partial(task_delete, task=task, user=manager)] * 2)
        assert codes(outcomes) == ["not_found", "ok"]
        project.refresh_from_db()
        assert (project.task_count, project.annotation_total, project.prediction_total) == (1, 0, 0)
        assert_counters_exact()


def test_a_submit_racing_a_delete_of_another_annotation_keeps_exact_counters(make_project, cast):
    manager = cast.users["manager"]
    for _ in range(ROUNDS):
        task = fresh_task(make_project, maximum_annotations=2)
        first = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        outcomes = race(
            partial(annotation_delete, annotation=first, user=manager, membership=membership(manager)),
            partial(annotation_create, task=task, user=cast.users["annotator2"], result=choice("Negative")),
        )
        assert codes(outcomes) == ["ok", "ok"]
        assert_counters_exact()


def test_an_update_racing_a_delete_of_the_same_annotation_keeps_exact_counters(make_project, cast):
    annotator, manager = cast.users["annotator"], cast.users["manager"]
    for _ in range(ROUNDS):
        task = fresh_task(make_project)
        skipped = annotation_create(task=task, user=annotator, result=[], was_cancelled=True)
        outcomes = race(
            partial(
                annotation_update, annotation=skipped, user=annotator, membership=membership(annotator),
                fields={"was_cancelled": False, "result": choice("Positive")},
            ),
            partial(annotation_delete, annotation=skipped, user=manager, membership=membership(manager)),
        )  # fmt: skip
        assert "ok" in codes(outcomes) and set(codes(outcomes)) <= {"ok", "not_found"}
        assert not Annotation.objects.filter(pk=skipped.pk).exists()
        task.refresh_from_db()
        assert (task.total_annotations, task.cancelled_annotations) == (0, 0)
        assert_counters_exact()


# --- task edits, imports and project deletes against submits --------------------------------------------


def test_a_task_edit_racing_submits_keeps_their_counts(make_project, annotators, cast):
    for _ in range(ROUNDS):
        task = fresh_task(make_project, maximum_annotations=3)
        stale = Task.objects.get(pk=task.pk)  # read before the submits, as the edit's view reads it
        calls = [
            partial(annotation_create, task=task, user=user, result=choice("Neutral"))
            for user in annotators[:3]
        ]
        calls.append(
            partial(
                task_update, task=stale, user=cast.users["manager"], fields={"data": {"text": "Rates fell."}}
            )
        )
        assert codes(race(*calls)) == ["ok"] * 4
        task.refresh_from_db()
        assert (task.data, task.total_annotations, task.is_labeled) == ({"text": "Rates fell."}, 3, True)
        assert_counters_exact()


def test_an_import_racing_submits_keeps_exact_counters(make_project, annotators, cast):
    items = [
        to_task_item({"data": {"text": f"t{i}"}, "annotations": [{"result": choice("Positive")}]}, i)
        for i in range(50)
    ]
    for _ in range(ROUNDS):
        task = fresh_task(make_project, maximum_annotations=2)
        calls = [
            partial(annotation_create, task=task, user=user, result=choice("Neutral"))
            for user in annotators[:3]
        ]
        calls.append(partial(tasks_import, project=task.project, user=cast.users["manager"], items=items))
        assert codes(race(*calls)) == ["ok"] * 3 + ["overlap_reached"]
        assert Task.objects.filter(project=task.project).count() == 51
        assert_not_over_annotated(task.project)
        assert_counters_exact()


def test_a_prediction_import_racing_a_task_delete_writes_all_or_nothing(make_project, cast):
    manager = cast.users["manager"]
    for _ in range(ROUNDS):
        project = make_project(tasks=[{"text": "a"}, {"text": "b"}])
        first, second = project.tasks.order_by("inner_id")
        items = [{"task": task.pk, "result": choice("Positive"), "score": 0.5} for task in (first, second)]
        outcomes = race(
            partial(predictions_import, project=project, user=manager, items=items),
            partial(task_delete, task=first, user=manager),
        )
        assert codes(outcomes) in (["ok", "ok"], ["not_found", "ok"])
        assert Prediction.objects.filter(project=project).count() in (0, 1)
        assert_counters_exact()


def test_an_overlap_change_racing_submits_leaves_every_task_labeled_by_the_new_overlap(
    make_project, annotators, cast
):
    for _ in range(ROUNDS):
        project = make_project(tasks=[{"text": f"t{i}"} for i in range(3)], maximum_annotations=3)
        tasks = list(project.tasks.order_by("inner_id"))
        calls = [
            partial(annotation_create, task=task, user=user, result=choice("Neutral"))
            for user, task in zip(annotators, tasks * 2, strict=False)
        ]
        calls.append(
            partial(
                project_update, project=project, user=cast.users["owner"], fields={"maximum_annotations": 1}
            )
        )
        assert set(codes(race(*calls))) <= {"ok", "overlap_reached"}
        assert_counters_exact()


def test_a_project_delete_racing_submits_leaves_nothing_behind(make_project, annotators, cast):
    for _ in range(ROUNDS):
        project = make_project(tasks=[{"text": f"t{i}"} for i in range(4)], maximum_annotations=3)
        tasks = list(project.tasks.order_by("inner_id"))
        calls = [
            partial(annotation_create, task=task, user=user, result=choice("Neutral"))
            for user, task in zip(annotators, tasks * 2, strict=False)
        ]
        calls.append(partial(project_delete, project=project, user=cast.users["owner"]))
        outcomes = race(*calls)
        assert set(codes(outcomes)) <= {"ok", "not_found"}
        assert not Project.objects.filter(pk=project.pk).exists()
        assert not Task.objects.filter(project_id=project.pk).exists()
        assert not Annotation.objects.filter(project_id=project.pk).exists()
        assert_counters_exact()


def test_deleting_every_task_racing_submits_keeps_exact_counters(make_project, annotators, cast):
    for _ in range(ROUNDS):
        project = make_project(tasks=[{"text": f"t{i}"} for i in range(4)], maximum_annotations=3)
        tasks = list(project.tasks.order_by("inner_id"))
        calls = [
            partial(annotation_create, task=task, user=user, result=choice("Neutral"))
            for user, task in zip(annotators, tasks * 2, strict=False)
        ]
        calls.append(partial(project_tasks_delete, project=project, user=cast.users["owner"]))
        assert set(codes(race(*calls))) <= {"ok", "not_found"}
        assert not Task.objects.filter(project=project).exists()
        assert_counters_exact()
