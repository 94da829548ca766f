"""The project's running totals (tasks, annotations, predictions) agree with its tasks after every kind of write."""

import pytest
from django.db.models import Sum

from annotation.models import ImportJob, Project, Task
from annotation.services.import_jobs import import_job_run
from tessera import prepared
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db


def assert_totals_agree(project: Project) -> None:
    project.refresh_from_db()
    sums = Task.objects.filter(project=project).aggregate(
        a=Sum("total_annotations"), p=Sum("total_predictions")
    )
    assert project.task_count == Task.objects.filter(project=project).count()
    assert project.annotation_total == (sums["a"] or 0)
    assert project.prediction_total == (sums["p"] or 0)


def test_totals_follow_imports_submits_skips_deletes_and_predictions(api, make_project):
    project = make_project(
        tasks=[
            {"data": {"text": "a"}, "annotations": [{"result": choice("Positive")}, {"was_cancelled": True}],
             "predictions": [{"result": choice("Negative"), "score": 0.4}]},
            {"data": {"text": "b"}},
            {"data": {"text": "c"}},
        ],
        # Room for the skip below to become a second answer (at overlap 1 it would over-annotate: 409).
        maximum_annotations=2,
    )  # fmt: skip
    assert_totals_agree(project)
    assert (project.annotation_total, project.prediction_total) == (1, 1)
    manager = api("manager")
    second, third = Task.objects.filter(project=project).order_by("inner_id")[1:]

    submitted = post_json(
        api("annotator"), f"/api/tasks/{second.pk}/annotations/", {"result": choice("Neutral")}
    )
    skipped = post_json(api("annotator2"), f"/api/tasks/{second.pk}/annotations/", {"was_cancelled": True})
    assert submitted.status_code == skipped.status_code == 201
    assert_totals_agree(project)

    assert patch_json(api("annotator2"), f"/api/annotations/{skipped.json()['id']}/",
                      {"was_cancelled": False, "result": choice("Positive")}).status_code == 200  # fmt: skip
    assert_totals_agree(project)
    assert api("annotator").delete(f"/api/annotations/{submitted.json()['id']}/").status_code == 204
    assert_totals_agree(project)

    prediction = post_json(manager, "/api/predictions/", {"task": third.pk, "result": choice("Positive")})
    assert prediction.status_code == 201
    assert_totals_agree(project)
    assert manager.delete(f"/api/predictions/{prediction.json()['id']}/").status_code == 204
    assert_totals_agree(project)

    assert manager.delete(f"/api/tasks/{second.pk}/").status_code == 204
    assert_totals_agree(project)
    listed = manager.get(f"/api/tasks/?project={project.pk}").json()
    assert (listed["total"], listed["total_annotations"], listed["total_predictions"]) == (
        project.task_count,
        project.annotation_total,
        project.prediction_total,
    )
    assert manager.delete(f"/api/projects/{project.pk}/tasks/").status_code in (200, 204)
    assert_totals_agree(project)
    assert (project.task_count, project.annotation_total, project.prediction_total) == (0, 0, 0)


def test_completed_background_import_lists_the_ids_of_its_tasks(api, make_project, settings,
                                                                django_capture_on_commit_callbacks):  # fmt: skip
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    project = make_project(tasks=[{"text": "already here"}])
    with django_capture_on_commit_callbacks(execute=False):
        response = post_json(
            api("manager"), f"/api/projects/{project.pk}/import", [{"text": "x"}, {"text": "y"}]
        )
    assert response.status_code == 201
    job_id = response.json()["import"]
    import_job_run(job_id=job_id)
    body = api("manager").get(f"/api/projects/{project.pk}/imports/{job_id}/").json()
    assert body["status"] == "completed"
    expected = list(Task.objects.filter(project=project, data__text__in=["x", "y"]).order_by("inner_id")
                    .values_list("id", flat=True))  # fmt: skip
    assert body["task_ids"] == expected and len(expected) == 2
    assert ImportJob.objects.get(pk=job_id).first_inner_id == 2
    assert_totals_agree(project)


def _writes(queries) -> list[str]:
    statements = [prepared.logged_sql(query["sql"]) for query in queries]
    return [sql for sql in statements if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


@pytest.mark.parametrize("method", ["submit", "update", "delete"])
def test_the_project_totals_are_the_last_write_of_a_change_to_an_annotation(cast, make_project, method):
    # Every writer of the project queues on its row from this UPDATE to its commit: the agreement's
    # shard, the audit event and the rest must come before it (annotation/services/counters.py, step 3).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotation.models import Annotation
    from annotation.services.annotations import annotation_create, annotation_delete, annotation_update
    from tessera.models import Membership

    project = make_project(tasks=[{"text": "a"}], maximum_annotations=3)
    task = project.tasks.get()
    first = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    manager = Membership.objects.get(user=cast.users["manager"], organization=cast.org)
    with CaptureQueriesContext(connection) as captured:
        if method == "submit":
            # The task's second answer: its agreement is refreshed too.
            annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
        elif method == "update":
            # A skip turned into an answer moves the counters.
            skip = annotation_create(task=task, user=cast.users["reviewer"], result=[], was_cancelled=True)
            captured.initial_queries = len(captured.connection.queries_log)
            annotation_update(annotation=skip, user=cast.users["manager"], membership=manager,
                              fields={"was_cancelled": False, "result": choice("Neutral")})  # fmt: skip
        else:
            annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
            captured.initial_queries = len(captured.connection.queries_log)
            annotation_delete(annotation=Annotation.objects.get(pk=first.pk), user=cast.users["manager"],
                              membership=manager)  # fmt: skip
    writes = _writes(captured.captured_queries)
    project_table = f'UPDATE "{Project._meta.db_table}"'
    assert sum(project_table in sql for sql in writes) == 1, writes
    assert project_table in writes[-1], writes
    assert len(writes) > 3
    assert_totals_agree(project)


def test_totals_held_back_are_written_once_by_the_outermost_block_and_not_at_all_on_error(make_project):
    from annotation.services.counters import project_totals_add, project_totals_last

    project = make_project(tasks=[{"text": "a"}])
    before = Project.objects.get(pk=project.pk).annotation_total
    with project_totals_last():
        with project_totals_last():
            project_totals_add(project.pk, annotations=2)
        project_totals_add(project.pk, annotations=3)
        # Held back until the outermost block ends.
        assert Project.objects.get(pk=project.pk).annotation_total == before
    assert Project.objects.get(pk=project.pk).annotation_total == before + 5
    with pytest.raises(RuntimeError), project_totals_last():
        project_totals_add(project.pk, annotations=7)
        raise RuntimeError("the change failed")
    assert Project.objects.get(pk=project.pk).annotation_total == before + 5
    # Outside a block the totals are written at once, as before.
    project_totals_add(project.pk, annotations=-5)
    assert Project.objects.get(pk=project.pk).annotation_total == before
