"""The task and review state machine (annotation/services/states.py): every write moves the task's
state as the rule says, on the hot path from the counters in hand and elsewhere from the rows."""

import pytest

from annotation.importing.parsers import to_task_item
from annotation.models import Annotation, ReviewPolicy, ReviewState, Task, TaskState
from annotation.selectors import task_query_limits
from annotation.services.annotations import annotation_create, annotation_delete, annotation_update
from annotation.services.imports import tasks_import
from annotation.services.projects import project_update
from annotation.services.review import review_create
from annotation.services.states import review_selects, sample_bucket, task_state_for
from annotation.services.task_actions import task_action_run
from annotation.task_filters import parse_action_body
from tessera.models import Membership
from tests.conftest import choice

pytestmark = pytest.mark.django_db


def _state(task) -> str:
    return Task.objects.values_list("state", flat=True).get(pk=task.pk)


def _membership(user) -> Membership:
    return Membership.objects.get(user=user)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"submitted": 0, "rejected": 0, "settled": 0, "selected": True, "reviewed": False}, "unlabeled"),
        ({"submitted": 1, "rejected": 0, "settled": 0, "selected": True, "reviewed": False}, "in_progress"),
        ({"submitted": 2, "rejected": 0, "settled": 0, "selected": False, "reviewed": False}, "labeled"),
        ({"submitted": 2, "rejected": 0, "settled": 0, "selected": True, "reviewed": False}, "in_review"),
        ({"submitted": 2, "rejected": 0, "settled": 1, "selected": False, "reviewed": True}, "in_review"),
        ({"submitted": 2, "rejected": 0, "settled": 2, "selected": True, "reviewed": True}, "done"),
        ({"submitted": 2, "rejected": 1, "settled": 1, "selected": True, "reviewed": True}, "in_progress"),
    ],
)
def test_the_rule_in_plain_python(facts, expected):
    assert task_state_for(overlap=2, **facts) == expected


def test_the_sample_is_fixed_by_task_ids_and_near_its_percentage():
    buckets = [sample_bucket(task_id) for task_id in range(1, 10_001)]
    assert buckets == [sample_bucket(task_id) for task_id in range(1, 10_001)]
    assert all(0 <= bucket < 100 for bucket in buckets)
    share = sum(bucket < 20 for bucket in buckets) / len(buckets)
    assert 0.18 < share < 0.22


def test_submits_move_a_task_from_unlabeled_to_in_progress_to_in_review(cast, make_project):
    project = make_project(tasks=[{"text": "a"}], maximum_annotations=2)
    task = project.tasks.get()
    assert _state(task) == TaskState.UNLABELED
    annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    assert _state(task) == TaskState.IN_PROGRESS
    annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
    assert _state(task) == TaskState.IN_REVIEW


def test_a_skip_leaves_the_state_alone(cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    task = project.tasks.get()
    annotation_create(task=task, user=cast.users["annotator"], result=[], was_cancelled=True)
    assert _state(task) == TaskState.UNLABELED


def test_a_task_the_sample_leaves_out_is_labeled_and_one_it_picks_is_in_review(cast, make_project):
    project = make_project(tasks=[{"text": str(n)} for n in range(30)], review_policy="sample")
    project_update(project=project, user=cast.users["owner"], fields={"review_sample_percent": 50})
    project.refresh_from_db()
    for task in project.tasks.all():
        task.project = project
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        expected = TaskState.IN_REVIEW if sample_bucket(task.pk) < 50 else TaskState.LABELED
        assert _state(task) == expected
        assert review_selects(project, task) == (expected == TaskState.IN_REVIEW)


def test_changing_the_policy_moves_labeled_tasks_set_based(cast, make_project):
    project = make_project(tasks=[{"text": str(n)} for n in range(10)], review_policy="sample")
    project_update(project=project, user=cast.users["owner"], fields={"review_sample_percent": 0})
    project.refresh_from_db()
    for task in project.tasks.all():
        task.project = project
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    assert set(Task.objects.filter(project=project).values_list("state", flat=True)) == {TaskState.LABELED}
    project_update(project=project, user=cast.users["owner"], fields={"review_policy": ReviewPolicy.ALL})
    assert set(Task.objects.filter(project=project).values_list("state", flat=True)) == {TaskState.IN_REVIEW}
    project_update(project=project, user=cast.users["owner"], fields={"maximum_annotations": 2})
    assert set(Task.objects.filter(project=project).values_list("state", flat=True)) == {
        TaskState.IN_PROGRESS
    }


def test_verdicts_reject_then_resubmit_then_accept(cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    task = project.tasks.get()
    annotator, reviewer = cast.users["annotator"], cast.users["reviewer"]
    annotation = annotation_create(task=task, user=annotator, result=choice("Positive"))
    annotation = Annotation.objects.select_related("task__project").get(pk=annotation.pk)
    review_create(
        annotation=annotation,
        reviewer=reviewer,
        membership=_membership(reviewer),
        verdict="reject",
        comment="No",
    )
    assert _state(task) == TaskState.IN_PROGRESS
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.REJECTED
    annotation_update(
        annotation=annotation, user=annotator, membership=_membership(annotator),
        fields={"result": choice("Negative")},
    )  # fmt: skip
    annotation.refresh_from_db()
    assert annotation.review_state == ReviewState.SUBMITTED
    assert _state(task) == TaskState.IN_REVIEW
    review_create(
        annotation=annotation, reviewer=reviewer, membership=_membership(reviewer), verdict="accept"
    )
    assert _state(task) == TaskState.DONE


def test_a_new_answer_on_a_done_task_puts_it_back_in_review(cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    task = project.tasks.get()
    reviewer = cast.users["reviewer"]
    annotation = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    annotation = Annotation.objects.select_related("task__project").get(pk=annotation.pk)
    review_create(
        annotation=annotation, reviewer=reviewer, membership=_membership(reviewer), verdict="accept"
    )
    assert _state(task) == TaskState.DONE
    # Managers may add answers past the overlap.
    annotation_create(task=task, user=cast.users["manager"], result=choice("Negative"))
    assert _state(task) == TaskState.IN_REVIEW


def test_a_rejection_below_the_overlap_holds_the_task_in_progress_when_the_overlap_fills(cast, make_project):
    project = make_project(tasks=[{"text": "a"}], maximum_annotations=2)
    task = project.tasks.get()
    reviewer = cast.users["reviewer"]
    first = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    first = Annotation.objects.select_related("task__project").get(pk=first.pk)
    review_create(annotation=first, reviewer=reviewer, membership=_membership(reviewer), verdict="reject")
    task.refresh_from_db()
    annotation_create(task=task, user=cast.users["annotator2"], result=choice("Positive"))
    assert _state(task) == TaskState.IN_PROGRESS


def test_deleting_answers_moves_the_task_back(cast, make_project):
    project = make_project(tasks=[{"text": "a"}], maximum_annotations=2)
    task = project.tasks.get()
    first = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    second = annotation_create(task=task, user=cast.users["annotator2"], result=choice("Positive"))
    manager = cast.users["manager"]
    annotation_delete(
        annotation=Annotation.objects.get(pk=second.pk), user=manager, membership=_membership(manager)
    )
    assert _state(task) == TaskState.IN_PROGRESS
    annotation_delete(
        annotation=Annotation.objects.get(pk=first.pk), user=manager, membership=_membership(manager)
    )
    assert _state(task) == TaskState.UNLABELED


def test_deleting_the_unreviewed_answer_leaves_a_task_whose_others_are_accepted_done(cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    task = project.tasks.get()
    reviewer, manager = cast.users["reviewer"], cast.users["manager"]
    first = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    first = Annotation.objects.select_related("task__project").get(pk=first.pk)
    review_create(annotation=first, reviewer=reviewer, membership=_membership(reviewer), verdict="accept")
    extra = annotation_create(task=task, user=manager, result=choice("Negative"))
    assert _state(task) == TaskState.IN_REVIEW
    annotation_delete(
        annotation=Annotation.objects.get(pk=extra.pk), user=manager, membership=_membership(manager)
    )
    assert _state(task) == TaskState.DONE


def test_an_import_with_answers_sets_states_from_the_counters(cast, make_project):
    project = make_project(maximum_annotations=2)
    owner = cast.users["owner"]
    items = [
        {"data": {"text": "none"}},
        {"data": {"text": "one"}, "annotations": [{"result": choice("Positive")}]},
        {
            "data": {"text": "two"},
            "annotations": [{"result": choice("Positive")}, {"result": choice("Negative")}],
        },
    ]
    tasks_import(project=project, user=owner, items=[to_task_item(item, n) for n, item in enumerate(items)])
    states = list(Task.objects.filter(project=project).order_by("inner_id").values_list("state", flat=True))
    assert states == [TaskState.UNLABELED, TaskState.IN_PROGRESS, TaskState.IN_REVIEW]


def test_deleting_a_selection_s_annotations_makes_its_tasks_unlabeled(cast, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}])
    for task in project.tasks.all():
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    reviewer = cast.users["reviewer"]
    review_create(
        annotation=Annotation.objects.select_related("task__project").first(),
        reviewer=reviewer, membership=_membership(reviewer), verdict="accept",
    )  # fmt: skip
    query = parse_action_body({"selectedItems": {"all": True, "excluded": []}}, limits=task_query_limits())
    task_action_run(project=project, user=cast.users["manager"], action="delete_annotations", query=query)
    assert set(Task.objects.filter(project=project).values_list("state", flat=True)) == {TaskState.UNLABELED}


def test_low_agreement_policy_sends_only_tasks_whose_annotators_disagree_to_review(cast, make_project):
    project = make_project(
        tasks=[{"text": "agreed"}, {"text": "disputed"}], maximum_annotations=2, review_policy="low_agreement"
    )
    agreed, disputed = project.tasks.order_by("inner_id")
    for task, second in ((agreed, "Positive"), (disputed, "Negative")):
        task.project = project
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        annotation_create(task=task, user=cast.users["annotator2"], result=choice(second))
    assert _state(agreed) == TaskState.LABELED
    assert _state(disputed) == TaskState.IN_REVIEW
    assert review_selects(project, agreed) is False
    # Correcting the disagreement by an edit takes the task out of review; the policy changing back
    # and forth is decided set-based from the same stored agreement.
    answer = Annotation.objects.get(task=disputed, completed_by=cast.users["annotator2"])
    annotation_update(
        annotation=answer,
        user=cast.users["annotator2"],
        membership=_membership(cast.users["annotator2"]),
        fields={"result": choice("Positive")},
    )
    assert _state(disputed) == TaskState.LABELED
    project_update(project=project, user=cast.users["owner"], fields={"review_policy": ReviewPolicy.ALL})
    assert _state(agreed) == TaskState.IN_REVIEW
    project_update(
        project=project, user=cast.users["owner"], fields={"review_policy": ReviewPolicy.LOW_AGREEMENT}
    )
    assert {_state(agreed), _state(disputed)} == {TaskState.LABELED}
