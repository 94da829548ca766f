"""Hot paths read counters and index ranges, never the whole project: task pages after deletes and
failed imports, the project list's annotated-task count, the labeling page's progress."""

import pytest

from annotation.importing.parsers import to_task_item
from annotation.models import Annotation, Project, Task
from annotation.services.annotations import annotation_create, annotation_delete, task_delete
from annotation.services.imports import tasks_import
from annotation.services.projects import project_tasks_delete, project_update
from tessera.errors import ApplicationError
from tessera.models import Membership
from tests.conftest import choice, patch_json

pytestmark = pytest.mark.django_db


def _inner_ids_by_offset(project: Project) -> list[int]:
    return list(Task.objects.filter(project=project).order_by("inner_id").values_list("inner_id", flat=True))


def _paged_inner_ids(client, project: Project, page_size: int) -> list[int]:
    project.refresh_from_db()
    seen: list[int] = []
    pages = -(-project.task_count // page_size)
    for page in range(1, pages + 1):
        response = client.get(f"/api/tasks/?project={project.pk}&page={page}&page_size={page_size}")
        assert response.status_code == 200, response.content
        seen.extend(task["inner_id"] for task in response.json()["tasks"])
    return seen


def test_pages_after_scattered_deletes_match_positions(api, cast, make_project):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(40)])
    client = api("manager")
    for inner_id in (1, 2, 7, 8, 9, 20, 40):
        task_delete(task=Task.objects.get(project=project, inner_id=inner_id), user=cast.users["owner"])
    for page_size in (1, 3, 7, 100):
        assert _paged_inner_ids(client, project, page_size) == _inner_ids_by_offset(project)
    # A later import and a later delete each move the layout: the cached gaps are read again.
    tasks_import(project=project, user=cast.users["owner"], items=[to_task_item({"text": "late"}, 0)])
    task_delete(task=Task.objects.get(project=project, inner_id=30), user=cast.users["owner"])
    assert _paged_inner_ids(client, project, 4) == _inner_ids_by_offset(project)


def test_a_failed_import_leaves_a_gap_that_pages_allow_for(api, cast, make_project):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(5)])
    bad = [to_task_item({"text": "fine"}, 0), to_task_item({"text": "labeled"}, 1)]
    bad[1].annotations.append({"result": choice("NotALabel")})
    with pytest.raises(ApplicationError):
        tasks_import(project=project, user=cast.users["owner"], items=bad)
    # Checks run before the range is taken, so a refused import costs no inner ids.
    project.refresh_from_db()
    assert (project.task_counter, project.task_count) == (5, 5)
    tasks_import(project=project, user=cast.users["owner"], items=[to_task_item({"text": "after"}, 0)])
    project.refresh_from_db()
    assert (project.task_counter, project.task_count) == (6, 6)
    # A range reserved by an import that then fails in its write phase stays unused.
    Project.objects.filter(pk=project.pk).update(task_counter=10)
    tasks_import(
        project=project,
        user=cast.users["owner"],
        items=[to_task_item({"text": f"x{i}"}, i) for i in range(3)],
    )
    assert _inner_ids_by_offset(project) == [1, 2, 3, 4, 5, 6, 11, 12, 13]
    assert _paged_inner_ids(api("manager"), project, 2) == [1, 2, 3, 4, 5, 6, 11, 12, 13]


def test_project_list_counts_annotated_tasks_from_counters(api, cast, make_project):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(4)], maximum_annotations=2)
    annotator, reviewer = cast.users["annotator"], cast.users["reviewer"]
    first, second, third = Task.objects.filter(project=project).order_by("inner_id")[:3]
    annotation_create(task=first, user=annotator, result=choice("Positive"))
    annotation_create(task=first, user=reviewer, result=choice("Negative"))
    annotation_create(task=second, user=annotator, result=choice("Positive"))
    annotation_create(task=third, user=annotator, result=[], was_cancelled=True)

    def listed() -> tuple[int, int]:
        row = next(p for p in api("manager").get("/api/projects/").json()["results"] if p["id"] == project.pk)
        project.refresh_from_db()
        return row["num_tasks_with_annotations"], project.labeled_task_count

    # A skip is no annotation; the first task has reached the overlap of 2.
    assert listed() == (2, 1)
    annotation_delete(
        annotation=Annotation.objects.get(task=first, completed_by=reviewer),
        user=cast.users["owner"],
        membership=Membership.objects.get(user=cast.users["owner"], organization=cast.org),
    )
    assert listed() == (2, 0)
    project_update(project=project, user=cast.users["owner"], fields={"maximum_annotations": 1})
    assert listed() == (2, 2)
    task_delete(task=Task.objects.get(pk=second.pk), user=cast.users["owner"])
    assert listed() == (1, 1)
    project_tasks_delete(project=project, user=cast.users["owner"])
    assert listed() == (0, 0)


def test_progress_with_overlap_counts_what_next_can_still_hand_the_caller(api, cast, make_project):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(6)], maximum_annotations=3)
    tasks = list(Task.objects.filter(project=project).order_by("inner_id"))
    others = [cast.users["reviewer"], cast.users["manager"], cast.users["admin"]]
    for user in others:
        annotation_create(task=tasks[0], user=user, result=choice("Positive"))  # labeled: not open
    annotation_create(task=tasks[1], user=cast.users["annotator"], result=choice("Positive"))  # mine
    annotation_create(task=tasks[2], user=cast.users["annotator"], result=[], was_cancelled=True)  # skipped
    annotation_create(task=tasks[3], user=others[0], result=choice("Negative"))  # open for me
    body = api("annotator").get(f"/api/labeling/projects/{project.pk}").json()
    assert (body["tasks_left_for_me"], body["tasks_labeled"], body["total_tasks"]) == (3, 1, 6)
    assert (
        patch_json(api("manager"), f"/api/projects/{project.pk}/", {"maximum_annotations": 1}).status_code
        == 200
    )
    body = api("annotator").get(f"/api/labeling/projects/{project.pk}").json()
    # Now tasks 1, 2 and 4 are labeled; the skipped task 3 is open but answered by me.
    assert (body["tasks_left_for_me"], body["tasks_labeled"]) == (2, 3)


def test_next_with_overlap_starts_past_the_callers_answers_and_never_loses_a_task(api, cast, make_project):
    from django.core.cache import cache

    from annotation.services.queue import _scan_hint_key

    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(101)], maximum_annotations=3)
    annotator = cast.users["annotator"]
    tasks = list(Task.objects.filter(project=project).order_by("inner_id"))
    for task in tasks[:100]:
        annotation_create(task=task, user=annotator, result=choice("Positive"))
    client = api("annotator")
    assert client.get(f"/api/projects/{project.pk}/next").json()["inner_id"] == 101
    # The hundred open tasks this annotator answered are not walked again on the next call.
    assert cache.get(_scan_hint_key(project, annotator)) == 101
    annotation_create(task=tasks[100], user=annotator, result=choice("Positive"))
    # An answer deleted behind the hint: the scan from the hint finds nothing, and the one from the
    # first task finds it before the queue answers 404.
    annotation_delete(
        annotation=Annotation.objects.get(task=tasks[4], completed_by=annotator),
        user=cast.users["owner"],
        membership=Membership.objects.get(user=cast.users["owner"], organization=cast.org),
    )
    assert client.get(f"/api/projects/{project.pk}/next").json()["inner_id"] == 5
