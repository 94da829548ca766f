"""The dashboard's running totals (annotation/services/activity_totals.py): every write path keeps them
equal to a recount of the rows, and the reads built on them give what the answers say."""

import pytest

from annotation.importing.parsers import to_task_item
from annotation.models import Annotation, AnnotatorDay, Project, ReviewPolicy, TaskState
from annotation.services.activity_totals import activity_differences, activity_fix, lead_bucket, median_of
from annotation.services.annotations import (
    annotation_create,
    annotation_delete,
    annotation_update,
    task_delete,
)
from annotation.services.imports import tasks_import
from annotation.services.projects import project_tasks_delete, project_update
from annotation.services.review import review_backlog, review_create, reviews_bulk_accept
from annotation.services.task_actions import task_action_run
from annotation.task_filters import Selection, TaskQuery
from tessera.selectors import membership_for
from tests.conftest import choice

pytestmark = pytest.mark.django_db


def test_lead_time_buckets_keep_three_significant_figures():
    assert [lead_bucket(value) for value in (0.0, 1.0, 12.345, 123.45, 1234.5, 0.012345)] == [
        "0", "1", "12.3", "123", "1.23e+03", "0.0123",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("histogram", "median"),
    [
        ({}, None),
        ({"5": 1}, 5.0),
        ({"10": 1, "20": 1, "40": 1}, 20.0),
        ({"10": 1, "20": 1}, 15.0),
        ({"1.23e+03": 2, "2": 1, "3": 0}, 1230.0),
        ({"9": 2, "10": 2}, 9.5),
    ],
)
def test_median_of_a_histogram_is_percentile_cont(histogram, median):
    assert median_of(histogram) == median


def _agree(project: Project) -> None:
    assert activity_differences(project.pk) == []


def _backlog_counted(project: Project) -> dict:
    """The backlog as the rows say it, counted directly."""
    tasks = {state: project.tasks.filter(state=state).count() for state in TaskState.values}
    answers = Annotation.objects.filter(project=project, was_cancelled=False)
    return {
        "tasks_by_state": tasks,
        "annotations_by_review_state": {
            state: answers.filter(review_state=state).count()
            for state in ("submitted", "accepted", "rejected", "fixed")
        },
        "to_review": answers.filter(review_state="submitted", task__state=TaskState.IN_REVIEW).count(),
    }


def test_every_write_path_keeps_the_totals_equal_to_a_recount(cast, make_project):
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(6)], maximum_annotations=2)
    tasks = list(project.tasks.order_by("inner_id"))
    one, two, manager = cast.users["annotator"], cast.users["annotator2"], cast.users["manager"]
    reviewer = cast.users["reviewer"]
    review_membership, manager_membership = membership_for(user=reviewer), membership_for(user=manager)

    first = annotation_create(task=tasks[0], user=one, result=choice("Positive"), lead_time=10.0)
    _agree(project)
    annotation_create(task=tasks[0], user=two, result=choice("Negative"), lead_time=30.0)
    _agree(project)
    skip = annotation_create(task=tasks[1], user=one, result=[], was_cancelled=True, lead_time=1.0)
    _agree(project)
    # A skip turned into an answer, and a new lead time.
    annotation_update(annotation=skip, user=one, membership=membership_for(user=one),
                      fields={"was_cancelled": False, "result": choice("Neutral"), "lead_time": 4.5})  # fmt: skip
    _agree(project)
    annotation_create(task=tasks[1], user=two, result=choice("Neutral"), lead_time=2.0)
    review_create(annotation=first, reviewer=reviewer, membership=review_membership, verdict="reject",
                  comment="Read it again")  # fmt: skip
    _agree(project)
    # The author's change after the rejection submits it again.
    annotation_update(annotation=first, user=one, membership=membership_for(user=one),
                      fields={"result": choice("Negative")})  # fmt: skip
    _agree(project)
    fixed = Annotation.objects.get(task=tasks[1], completed_by=two)
    review_create(annotation=fixed, reviewer=reviewer, membership=review_membership, verdict="fix",
                  result=choice("Positive"))  # fmt: skip
    _agree(project)
    reviews_bulk_accept(project=project, reviewer=reviewer, membership=review_membership, query=TaskQuery())
    _agree(project)
    assert review_backlog(project=project) == _backlog_counted(project)

    # Imported answers, under a policy whose states the import decides after writing its tasks.
    project_update(project=project, user=manager, fields={"review_policy": ReviewPolicy.SAMPLE,
                                                          "review_sample_percent": 50})  # fmt: skip
    project.refresh_from_db()
    _agree(project)
    items = [
        to_task_item({"data": {"text": f"i{i}"}, "annotations": [
            {"result": choice("Positive"), "completed_by": one.pk, "lead_time": 3.0 + i},
            {"result": choice("Negative"), "completed_by": two.pk},
        ]}, i)
        for i in range(8)
    ]  # fmt: skip
    items.append(to_task_item({"data": {"text": "half"}, "annotations": [{"result": choice("Positive")}]}, 8))
    tasks_import(project=project, user=manager, items=items)
    _agree(project)
    assert review_backlog(project=project) == _backlog_counted(project)

    annotation_delete(annotation=Annotation.objects.filter(task=tasks[0], completed_by=two).get(), user=manager,
                      membership=manager_membership)  # fmt: skip
    _agree(project)
    task_delete(task=tasks[1], user=manager)
    _agree(project)
    imported = list(
        project.tasks.filter(data__text__startswith="i").order_by("inner_id").values_list("pk", flat=True)
    )
    task_action_run(project=project, user=manager, action="delete_annotations",
                    query=TaskQuery(selection=Selection(all=False, ids=tuple(imported[:3]))))  # fmt: skip
    _agree(project)
    task_action_run(project=project, user=manager, action="delete_tasks",
                    query=TaskQuery(selection=Selection(all=False, ids=tuple(imported[3:5]))))  # fmt: skip
    _agree(project)
    assert review_backlog(project=project) == _backlog_counted(project)
    project_tasks_delete(project=project, user=manager)
    _agree(project)
    assert not AnnotatorDay.objects.filter(project=project).exists()


def test_the_reads_follow_a_new_answer_at_once(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}], maximum_annotations=1)
    client = api("manager")
    before = client.get(f"/api/projects/{project.pk}/timeline/").json()
    task = project.tasks.order_by("inner_id").first()
    annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"), lead_time=8.0)
    timeline = client.get(f"/api/projects/{project.pk}/timeline/").json()
    assert (
        sum(day["submitted"] for day in timeline["days"])
        == sum(day["submitted"] for day in before["days"]) + 1
    )
    row = next(row for row in client.get(f"/api/projects/{project.pk}/annotators/").json()["annotators"]
               if row["user"]["id"] == cast.users["annotator"].pk)  # fmt: skip
    assert (row["tasks_done"], row["median_lead_time"]) == (1, 8.0)
    backlog = client.get(f"/api/projects/{project.pk}/review/backlog").json()
    assert backlog["tasks_by_state"]["in_review"] == 1 and backlog["to_review"] == 1


@pytest.mark.totals_unchecked
def test_a_fix_rebuilds_totals_left_wrong(cast, make_project):
    project = make_project(tasks=[{"text": "a"}], maximum_annotations=1)
    task = project.tasks.get()
    annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"), lead_time=2.0)
    AnnotatorDay.objects.filter(project=project).update(submitted=7, lead_times={"9": 3})
    Project.objects.filter(pk=project.pk).update(tasks_in_review=0, answers_to_review=5)
    assert activity_differences(project.pk)
    activity_fix(project.pk)
    _agree(project)


def test_reads_in_chunks_count_each_task_once(cast, make_project, monkeypatch):
    """A read of many tasks goes in chunks of task ids: each task's rows stay in one chunk, so its state
    is counted once (a rebuild that chunked rows counted tasks straddling two chunks twice)."""
    from annotation.services import activity_totals

    project = make_project(tasks=[{"text": f"t{i}"} for i in range(5)], maximum_annotations=2)
    for task in project.tasks.all():
        for user in (cast.users["annotator"], cast.users["annotator2"]):
            annotation_create(task=task, user=user, result=choice("Positive"), lead_time=3.0)
    monkeypatch.setattr(activity_totals, "IDS_PER_READ", 2)
    read = activity_totals.activity_before(project.tasks.values_list("pk", flat=True))
    recount = activity_totals.activity_recount(project.pk)
    assert +read.project == +recount.project == {"tasks_in_review": 5, "answers_to_review": 10}
    assert {key: +cell for key, cell in read.days.items()} == {
        key: +cell for key, cell in recount.days.items()
    }
    assert read.leads == recount.leads
