"""Gold tasks: the flag, scoring per control, the queue's mix, invisibility, the floor, pause and resume."""

import pytest

from annotation import annotator_metrics
from annotation.importing.parsers import to_task_item
from annotation.models import Annotation, AnnotatorGold, GoldScore, Project, Task
from annotation.quality import gold as gold_core
from annotation.services.annotations import (
    annotation_create,
    annotation_delete,
    annotation_update,
    task_delete,
)
from annotation.services.imports import tasks_import
from annotation.services.task_actions import task_action_run
from annotation.task_filters import Selection, TaskQuery
from tessera.models import AuditEvent, Membership
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db

TEXT = "Acme hired Bob."
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels>
  <Rating name="quality" toName="text" maxRating="5"/>
</View>"""


def span(start: int, end: int, label: str) -> dict:
    return {"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": [label], "text": TEXT[start:end]}}  # fmt: skip


def rating(value: int) -> dict:
    return {"from_name": "quality", "to_name": "text", "type": "rating", "value": {"rating": value}}


TRUTH = [*choice("Positive"), span(0, 4, "ORG"), span(11, 14, "PER"), rating(4)]


def membership(cast, role: str) -> Membership:
    return Membership.objects.get(user=cast.users[role], organization=cast.org)


def assert_scores_match_recount(project: Project) -> None:
    stored, recounted = annotator_metrics.stored(project=project), annotator_metrics.recount(project=project)
    assert set(stored) == set(recounted)
    for key, (n, total) in recounted.items():
        assert stored[key][0] == n and stored[key][1] == pytest.approx(total)


@pytest.fixture
def gold_project(make_project, cast):
    project = make_project(CONFIG, tasks=[{"text": TEXT} for _ in range(6)])
    return project


def make_gold(project, cast, task: Task) -> Annotation:
    return annotation_create(
        task=task,
        user=cast.users["manager"],
        result=TRUTH,
        ground_truth=True,
        membership=membership(cast, "manager"),
    )


# ---- pure scoring ---------------------------------------------------------------------------------


def test_scoring_per_control_type():
    controls = {"sentiment": "accuracy", "label": "span_f1", "quality": "absolute_error"}
    answer = [*choice("Negative"), span(0, 4, "ORG"), span(5, 10, "PER"), rating(2)]
    assert gold_core.score_answer(controls, TRUTH, answer) == {"sentiment": 0.0, "label": 0.5, "quality": 2.0}
    assert gold_core.score_answer(controls, TRUTH, TRUTH) == {"sentiment": 1.0, "label": 1.0, "quality": 0.0}
    # Unanswered: a choice scores 0, spans score 0 against the truth's, a rating is not scored.
    assert gold_core.score_answer(controls, TRUTH, []) == {"sentiment": 0.0, "label": 0.0}
    # No spans in either is agreement; a truth without a choice or rating scores nothing for them.
    assert gold_core.score_answer(controls, [], []) == {"label": 1.0}


def test_overall_score_normalises_rating_error_by_its_range():
    cells = {"sentiment": ("accuracy", 2, 1.0), "quality": ("absolute_error", 2, 4.0)}
    # accuracy 0.5; mean error 2 over a range of 4 gives 0.5.
    assert gold_core.overall_score(cells, {"quality": 4.0}) == pytest.approx(0.5)
    assert gold_core.overall_score({}, {}) is None


# ---- the flag ------------------------------------------------------------------------------------


def test_ground_truth_makes_a_task_gold_through_every_path(api, cast, gold_project):
    first, second, third = gold_project.tasks.order_by("inner_id")[:3]
    manager = api("manager")
    created = post_json(
        manager, f"/api/tasks/{first.pk}/annotations/", {"result": TRUTH, "ground_truth": True}
    )
    assert created.status_code == 201, created.content
    first.refresh_from_db()
    assert first.is_gold
    # Clearing and setting the flag on an existing annotation.
    assert (
        patch_json(manager, f"/api/annotations/{created.json()['id']}/", {"ground_truth": False}).status_code
        == 200
    )
    first.refresh_from_db()
    assert not first.is_gold
    assert (
        patch_json(manager, f"/api/annotations/{created.json()['id']}/", {"ground_truth": True}).status_code
        == 200
    )
    first.refresh_from_db()
    assert first.is_gold
    # Deleting the ground truth.
    assert manager.delete(f"/api/annotations/{created.json()['id']}/").status_code == 204
    first.refresh_from_db()
    assert not first.is_gold
    # A bulk delete of annotations clears it.
    make_gold(gold_project, cast, second)
    task_action_run(
        project=gold_project, user=cast.users["manager"], action="delete_annotations",
        query=_query_for(second),
    )  # fmt: skip
    second.refresh_from_db()
    assert not second.is_gold
    assert not Task.objects.filter(pk=third.pk, is_gold=True).exists()


def _query_for(task: Task) -> TaskQuery:
    return TaskQuery(selection=Selection(all=False, ids=(task.pk,)))


def test_an_import_with_ground_truth_makes_gold_tasks_and_scores_their_answers(cast, make_project):
    project = make_project(CONFIG)
    item = to_task_item(
        {
            "data": {"text": TEXT},
            "annotations": [
                {"result": TRUTH, "ground_truth": True, "completed_by": cast.users["manager"].pk},
                {"result": choice("Negative"), "completed_by": cast.users["annotator"].pk},
            ],
        },
        0,
    )
    plain = to_task_item({"data": {"text": TEXT}, "annotations": [{"result": choice("Positive")}]}, 1)
    tasks_import(project=project, user=cast.users["owner"], items=[item, plain])
    assert list(project.tasks.order_by("inner_id").values_list("is_gold", flat=True)) == [True, False]
    annotator = cast.users["annotator"].pk
    assert annotator_metrics.stored(project=project)[(annotator, "sentiment")] == (1, 0.0)
    assert AnnotatorGold.objects.get(project=project, user_id=annotator).gold_answers == 1
    assert_scores_match_recount(project)


def test_annotator_and_reviewer_cannot_set_ground_truth(api, cast, gold_project):
    task = gold_project.tasks.order_by("inner_id").first()
    for role in ("annotator", "reviewer"):
        response = post_json(
            api(role), f"/api/tasks/{task.pk}/annotations/", {"result": TRUTH, "ground_truth": True}
        )
        assert response.status_code == 403, response.content
        assert response.json()["error"]["field"] == "ground_truth"
    own = post_json(api("annotator"), f"/api/tasks/{task.pk}/annotations/", {"result": TRUTH}).json()
    response = patch_json(api("annotator"), f"/api/annotations/{own['id']}/", {"ground_truth": True})
    assert response.status_code == 403
    task.refresh_from_db()
    assert not task.is_gold


# ---- scoring, kept incrementally -----------------------------------------------------------------


def test_gold_scoring_end_to_end_through_the_api(api, cast, gold_project):
    Project.objects.filter(pk=gold_project.pk).update(gold_ratio=1.0)
    gold_task = gold_project.tasks.order_by("inner_id").first()
    make_gold(gold_project, cast, gold_task)
    annotator = api("annotator")
    taken = annotator.post(f"/api/projects/{gold_project.pk}/next").json()
    assert taken["id"] == gold_task.pk
    answer = [*choice("Negative"), span(0, 4, "ORG"), rating(3)]
    created = post_json(annotator, f"/api/tasks/{gold_task.pk}/annotations/", {"result": answer})
    assert created.status_code == 201, created.content
    report = api("reviewer").get(f"/api/projects/{gold_project.pk}/gold/").json()
    assert report["gold_tasks"] == 1
    (row,) = [r for r in report["annotators"] if r["user"]["id"] == cast.users["annotator"].pk]
    assert row["controls"] == {
        "label": {"metric": "span_f1", "value": pytest.approx(2 / 3), "n": 1},
        "quality": {"metric": "absolute_error", "value": 1.0, "n": 1},
        "sentiment": {"metric": "accuracy", "value": 0.0, "n": 1},
    }
    assert row["score"] == pytest.approx((0 + 2 / 3 + 0.75) / 3)
    # A correction moves the score by the answer's own change.
    assert (
        patch_json(annotator, f"/api/annotations/{created.json()['id']}/", {"result": TRUTH}).status_code
        == 200
    )
    row = api("reviewer").get(f"/api/projects/{gold_project.pk}/gold/").json()["annotators"]
    mine = next(r for r in row if r["user"]["id"] == cast.users["annotator"].pk)
    assert {name: c["value"] for name, c in mine["controls"].items()} == {
        "label": 1.0,
        "quality": 0.0,
        "sentiment": 1.0,
    }
    assert mine["score"] == 1.0
    assert_scores_match_recount(gold_project)
    # The annotators list shows the same score.
    listed = api("reviewer").get(f"/api/projects/{gold_project.pk}/annotators/").json()["annotators"]
    assert next(r for r in listed if r["user"]["id"] == cast.users["annotator"].pk)["gold_score"] == 1.0
    # Deleting the answer takes it out.
    assert annotator.delete(f"/api/annotations/{created.json()['id']}/").status_code == 204
    assert annotator_metrics.stored(project=gold_project) == {}
    assert AnnotatorGold.objects.get(project=gold_project, user=cast.users["annotator"]).gold_answers == 0


def test_changing_the_truth_rescores_every_answer(cast, gold_project):
    task = gold_project.tasks.order_by("inner_id").first()
    answer = annotation_create(task=task, user=cast.users["annotator"], result=choice("Negative"))
    truth = make_gold(gold_project, cast, task)
    assert annotator_metrics.stored(project=gold_project)[(cast.users["annotator"].pk, "sentiment")] == (
        1,
        0.0,
    )
    manager = membership(cast, "manager")
    annotation_update(annotation=truth, user=cast.users["manager"], membership=manager,
                      fields={"result": [*choice("Negative")]})  # fmt: skip
    assert annotator_metrics.stored(project=gold_project)[(cast.users["annotator"].pk, "sentiment")] == (
        1,
        1.0,
    )
    assert_scores_match_recount(gold_project)
    annotation_update(
        annotation=truth, user=cast.users["manager"], membership=manager, fields={"ground_truth": False}
    )
    assert annotator_metrics.stored(project=gold_project) == {}
    annotation_delete(
        annotation=answer, user=cast.users["annotator"], membership=membership(cast, "annotator")
    )
    assert_scores_match_recount(gold_project)


def test_deleting_gold_tasks_removes_their_scores(cast, gold_project):
    first, second = gold_project.tasks.order_by("inner_id")[:2]
    for task in (first, second):
        make_gold(gold_project, cast, task)
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    assert annotator_metrics.stored(project=gold_project)[(cast.users["annotator"].pk, "sentiment")] == (
        2,
        2.0,
    )
    task_delete(task=first, user=cast.users["manager"])
    assert annotator_metrics.stored(project=gold_project)[(cast.users["annotator"].pk, "sentiment")] == (
        1,
        1.0,
    )
    task_action_run(
        project=gold_project, user=cast.users["manager"], action="delete_tasks", query=_query_for(second)
    )
    assert annotator_metrics.stored(project=gold_project) == {}
    assert AnnotatorGold.objects.get(project=gold_project, user=cast.users["annotator"]).gold_answers == 0


# ---- the queue -----------------------------------------------------------------------------------


def _answer_queue(api, project, role: str, count: int) -> list[int]:
    client = api(role)
    taken = []
    for _ in range(count):
        task = client.post(f"/api/projects/{project.pk}/next").json()
        taken.append(task["id"])
        response = post_json(client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Positive")})
        assert response.status_code == 201, response.content
    return taken


def test_gold_tasks_are_mixed_in_at_the_project_ratio(api, cast, make_project):
    project = make_project(CONFIG, tasks=[{"text": TEXT} for _ in range(20)])
    gold_tasks = list(project.tasks.order_by("inner_id")[16:20])
    for task in gold_tasks:
        make_gold(project, cast, task)
    Project.objects.filter(pk=project.pk).update(gold_ratio=0.25)
    taken = _answer_queue(api, project, "annotator", 12)
    gold_ids = {task.pk for task in gold_tasks}
    # Every fourth answer is a gold one, each gold task at most once per annotator.
    assert [task_id in gold_ids for task_id in taken] == [False, False, False, True] * 3
    assert len(set(taken)) == 12
    # Gold tasks have their overlap (1) from the ground truth, yet every annotator may answer them.
    assert [task_id in gold_ids for task_id in _answer_queue(api, project, "annotator2", 4)][3]
    state = AnnotatorGold.objects.get(project=project, user=cast.users["annotator"])
    assert (state.answers, state.gold_answers) == (12, 3)
    assert_scores_match_recount(project)


def test_without_a_ratio_gold_tasks_are_not_offered_once_labeled(api, cast, make_project):
    project = make_project(CONFIG, tasks=[{"text": TEXT} for _ in range(3)])
    make_gold(project, cast, project.tasks.order_by("inner_id").first())
    taken = _answer_queue(api, project, "annotator", 2)
    assert project.tasks.order_by("inner_id").first().pk not in taken
    assert api("annotator").post(f"/api/projects/{project.pk}/next").status_code == 404


def test_a_gold_task_looks_like_any_other_on_the_labeling_page(api, cast, make_project):
    project = make_project(CONFIG, tasks=[{"text": TEXT} for _ in range(3)], maximum_annotations=2)
    gold_task = project.tasks.order_by("inner_id").first()
    make_gold(project, cast, gold_task)
    annotation_create(task=gold_task, user=cast.users["annotator2"], result=choice("Negative"))
    Project.objects.filter(pk=project.pk).update(gold_ratio=1.0)
    gold_body = api("annotator").post(f"/api/labeling/projects/{project.pk}/next").json()["task"]
    assert gold_body["id"] == gold_task.pk
    ordinary = api("reviewer").post(f"/api/projects/{project.pk}/next")
    assert ordinary.status_code == 200
    ordinary_body = ordinary.json()
    assert set(gold_body) == set(ordinary_body)
    assert gold_body["is_gold"] is False and ordinary_body["is_gold"] is False
    assert "ground_truth" not in str(gold_body)
    assert gold_body["annotations"] == []
    assert (gold_body["is_labeled"], gold_body["total_annotations"], gold_body["cancelled_annotations"]) == (
        False,
        0,
        0,
    )
    assert gold_body.get("state", "unlabeled") == "unlabeled"


# ---- the floor, pause and resume -----------------------------------------------------------------


def test_the_floor_flags_and_pauses_an_annotator_until_a_manager_resumes_them(
    api, cast, make_project, settings
):
    settings.TESSERA_GOLD_MIN_ANSWERS = 2
    project = make_project(CONFIG, tasks=[{"text": TEXT} for _ in range(8)])
    for task in project.tasks.order_by("inner_id")[:4]:
        make_gold(project, cast, task)
    Project.objects.filter(pk=project.pk).update(
        gold_ratio=1.0, gold_score_floor=0.9, gold_floor_pauses_queue=True
    )
    annotator = api("annotator")
    # One wrong answer is not enough to flag.
    _answer_wrong(annotator, project)
    state = AnnotatorGold.objects.get(project=project, user=cast.users["annotator"])
    assert not state.flagged
    _answer_wrong(annotator, project)
    state.refresh_from_db()
    assert state.flagged and state.paused
    refused = annotator.post(f"/api/projects/{project.pk}/next")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "queue_paused"
    assert "paused" in refused.json()["error"]["message"]
    actions = set(AuditEvent.objects.filter(object_id=project.pk).values_list("action", flat=True))
    assert {"annotator.gold_flag", "annotator.gold_pause"} <= actions
    listed = api("reviewer").get(f"/api/projects/{project.pk}/annotators/").json()["annotators"]
    mine = next(r for r in listed if r["user"]["id"] == cast.users["annotator"].pk)
    assert (mine["flagged"], mine["paused"]) == (True, True)
    # Only managers and above resume; another organization sees nothing.
    url = f"/api/projects/{project.pk}/annotators/{cast.users['annotator'].pk}/resume"
    assert api("annotator").post(url).status_code == 403
    assert api("reviewer").post(url).status_code == 403
    assert api("outsider").post(url).status_code == 404
    assert (
        api("manager")
        .post(f"/api/projects/{project.pk}/annotators/{cast.users['outsider'].pk}/resume")
        .status_code
        == 404
    )
    resumed = api("manager").post(url)
    assert resumed.status_code == 200 and resumed.json() == {"paused": False}
    assert AuditEvent.objects.filter(action="annotator.resume", object_id=project.pk).exists()
    assert annotator.post(f"/api/projects/{project.pk}/next").status_code == 200
    state.refresh_from_db()
    assert state.flagged and not state.paused


def _answer_wrong(client, project) -> None:
    task = client.post(f"/api/projects/{project.pk}/next").json()
    response = post_json(client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Negative")})
    assert response.status_code == 201, response.content


def test_a_paused_annotator_is_not_refused_once_the_project_stops_pausing(api, cast, make_project):
    project = make_project(CONFIG, tasks=[{"text": TEXT}])
    AnnotatorGold.objects.create(project=project, user=cast.users["annotator"], paused=True, flagged=True)
    Project.objects.filter(pk=project.pk).update(gold_floor_pauses_queue=True)
    assert api("annotator").post(f"/api/projects/{project.pk}/next").status_code == 409
    Project.objects.filter(pk=project.pk).update(gold_floor_pauses_queue=False)
    assert api("annotator").post(f"/api/projects/{project.pk}/next").status_code == 200


def test_scores_are_kept_per_project_and_never_leak(cast, make_project):
    project = make_project(CONFIG, tasks=[{"text": TEXT}])
    task = project.tasks.get()
    make_gold(project, cast, task)
    annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    assert set(GoldScore.objects.filter(project=project).values_list("control", flat=True)) == {
        "sentiment",
        "label",
    }


def test_a_gold_task_looks_like_any_other_to_an_annotator_through_the_task_endpoints(
    cast, make_project, client
):
    project = make_project(tasks=[{"text": "gold"}, {"text": "plain"}])
    gold_task, _plain = project.tasks.order_by("inner_id")
    annotation_create(
        task=gold_task, user=cast.users["manager"], result=choice("Positive"), ground_truth=True
    )
    assert Task.objects.get(pk=gold_task.pk).is_gold
    client.force_login(cast.users["annotator"])
    detail = client.get(f"/api/tasks/{gold_task.pk}/").json()
    assert detail["is_gold"] is False
    assert detail["annotations"] == []
    listed = client.get(f"/api/tasks/?project={project.pk}").json()["tasks"]
    assert [task["is_gold"] for task in listed] == [False, False]
    client.force_login(cast.users["reviewer"])
    assert client.get(f"/api/tasks/{gold_task.pk}/").json()["is_gold"] is True
