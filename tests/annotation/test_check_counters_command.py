"""``manage.py tessera_check_counters`` finds every counter that differs from a recount, and ``--fix`` sets it right."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Project, Task
from annotation.services.annotations import annotation_create, prediction_create
from tests.conftest import choice

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("tessera_check_counters", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def project(make_project, cast):
    project = make_project(
        tasks=[{"data": {"text": "a"}, "annotations": [{"result": choice("Positive")}, {"was_cancelled": True}]},
               {"data": {"text": "b"}}, {"data": {"text": "c"}}],
        maximum_annotations=1,
    )  # fmt: skip
    second = project.tasks.get(inner_id=2)
    annotation_create(task=second, user=cast.users["annotator"], result=choice("Negative"))
    prediction_create(task=second, user=cast.users["manager"], result=choice("Neutral"))
    return project


def test_counters_kept_by_the_services_match_a_recount(project, make_project):
    make_project(title="Empty")
    assert run() == "Every counter matches a recount.\n"


def test_every_wrong_counter_is_reported_and_the_command_fails(project):
    first, second, third = project.tasks.order_by("inner_id")
    Task.objects.filter(pk=first.pk).update(total_annotations=5, cancelled_annotations=0)
    Task.objects.filter(pk=second.pk).update(total_predictions=0, is_labeled=False)
    Task.objects.filter(pk=third.pk).update(is_labeled=True)
    Project.objects.filter(pk=project.pk).update(
        task_count=7, annotation_total=0, prediction_total=3, task_counter=1
    )
    out = StringIO()
    with pytest.raises(CommandError, match="9 counters differ"):
        call_command("tessera_check_counters", stdout=out)
    report = out.getvalue()
    for line in (
        "task.total_annotations: 1 wrong",
        "task.cancelled_annotations: 1 wrong",
        "task.total_predictions: 1 wrong",
        "task.is_labeled: 2 wrong",
        "project.task_count: 1 wrong",
        "project.annotation_total: 1 wrong",
        "project.prediction_total: 1 wrong",
        "project.task_counter: 1 wrong",
        f"task {first.pk} (project {project.pk}): total_annotations is 5, recount 1",
        f"project {project.pk}: task_counter is 1, largest inner_id 3",
    ):
        assert line in report, report


def test_fix_sets_every_counter_to_its_recount(project):
    expected_tasks = list(Task.objects.order_by("pk").values_list(
        "pk", "total_annotations", "cancelled_annotations", "total_predictions", "is_labeled"))  # fmt: skip
    expected_project = Project.objects.filter(pk=project.pk).values_list(
        "task_count", "annotation_total", "prediction_total", "task_counter").get()  # fmt: skip
    Task.objects.update(total_annotations=9, cancelled_annotations=9, total_predictions=9, is_labeled=True)
    Project.objects.update(task_count=0, annotation_total=0, prediction_total=0, task_counter=0)
    assert "Fixed" in run("--fix")
    assert list(Task.objects.order_by("pk").values_list(
        "pk", "total_annotations", "cancelled_annotations", "total_predictions", "is_labeled")) == expected_tasks  # fmt: skip
    assert Project.objects.filter(pk=project.pk).values_list(
        "task_count", "annotation_total", "prediction_total", "task_counter").get() == expected_project  # fmt: skip
    assert run() == "Every counter matches a recount.\n"


def test_a_task_counter_ahead_of_the_tasks_is_right(project):
    # inner ids are not reused after deletes: a counter past the largest one is how it should be.
    Project.objects.filter(pk=project.pk).update(task_counter=100)
    assert run() == "Every counter matches a recount.\n"


def test_wrong_dashboard_totals_fail_the_check_and_a_fix_rebuilds_them(project):
    from annotation.models import AnnotatorDay

    AnnotatorDay.objects.filter(project=project).update(submitted=40, lead_times={"1": 9})
    Project.objects.filter(pk=project.pk).update(answers_to_review=3)
    out = StringIO()
    with pytest.raises(CommandError, match="dashboard totals of 1 projects differ"):
        call_command("tessera_check_counters", stdout=out)
    assert f"dashboard totals: project {project.pk}" in out.getvalue()
    assert f"Rebuilt the dashboard totals of project {project.pk}." in run("--fix")
    assert run() == "Every counter matches a recount.\n"
