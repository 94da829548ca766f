"""Agreement and consensus through the API and the write paths: roles, shapes, numbers, incremental upkeep."""

import json
from typing import Any

import krippendorff
import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import AnnotatorDay, Project, ProjectQualityShard, Task, TaskQuality
from annotation.services.activity_totals import activity_differences
from annotation.services.annotations import (
    annotation_create,
    annotation_delete,
    annotation_update,
    task_delete,
)
from annotation.services.quality import project_quality, project_quality_recompute, task_agreement
from annotation.services.task_actions import task_action_run
from annotation.task_filters import Selection, TaskQuery
from tessera.models import Membership

pytestmark = pytest.mark.django_db

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels>
  <Rating name="stars" toName="text" maxRating="5"/>
  <TextArea name="note" toName="text"/>
</View>"""
TEXT = "東京の株式会社テセラと山田太郎"
RATERS = ["annotator", "annotator2", "reviewer"]


def result(sentiment=None, spans=(), stars=None, note=None) -> list[dict]:
    regions: list[dict] = []
    if sentiment:
        regions.append({"from_name": "sentiment", "to_name": "text", "type": "choices",
                        "value": {"choices": [sentiment]}})  # fmt: skip
    for start, end, label in spans:
        regions.append({"from_name": "label", "to_name": "text", "type": "labels",
                        "value": {"start": start, "end": end, "text": TEXT[start:end], "labels": [label]}})  # fmt: skip
    if stars is not None:
        regions.append(
            {"from_name": "stars", "to_name": "text", "type": "rating", "value": {"rating": stars}}
        )
    if note is not None:
        regions.append(
            {"from_name": "note", "to_name": "text", "type": "textarea", "value": {"text": [note]}}
        )
    return regions


# Per task, per rater: (sentiment, spans, stars); None: the rater did not annotate the task.
TABLE: list[list[Any]] = [
    [("Positive", [(3, 10, "ORG")], 4), ("Positive", [(3, 10, "ORG")], 5), ("Negative", [(3, 10, "ORG")], 4)],
    [("Negative", [(11, 15, "PER")], 2), ("Negative", [(11, 15, "PER"), (0, 2, "ORG")], 2), None],
    [("Neutral", [], 3), ("Positive", [], 3), ("Neutral", [(0, 2, "ORG")], 1)],
    [("Positive", [(3, 10, "ORG")], 5), ("Positive", [(3, 9, "ORG")], 5), ("Positive", [(3, 10, "ORG")], 4)],
    [("Negative", [], 1), None, None],
]


@pytest.fixture
def quality_world(cast, make_project):
    project = make_project(CONFIG, maximum_annotations=3, tasks=[{"text": TEXT} for _ in TABLE])
    tasks = list(project.tasks.order_by("inner_id"))
    annotations = {}
    for task, row in zip(tasks, TABLE, strict=True):
        for role, cell in zip(RATERS, row, strict=True):
            if cell is not None:
                annotations[(task.pk, role)] = annotation_create(
                    task=task, user=cast.users[role], result=result(cell[0], cell[1], cell[2])
                )
    return project, tasks, annotations


def _alpha(column: int, codes: Any, level: Any) -> float:
    data = [[np.nan if row[r] is None else codes(row[r][column]) for row in TABLE] for r in range(3)]
    return krippendorff.alpha(np.array(data, dtype=float), level_of_measurement=level)


def test_agreement_figures_match_the_libraries(api, quality_world):
    project, _, _ = quality_world
    body = api("reviewer").get(f"/api/projects/{project.pk}/agreement/").json()
    assert body["tasks"] == 4 and body["annotations"] == 11
    sentiment = body["controls"]["sentiment"]
    codes = {"Positive": 0, "Negative": 1, "Neutral": 2}
    assert sentiment["krippendorff_alpha"] == pytest.approx(_alpha(0, codes.get, "nominal"), abs=1e-9)
    assert body["controls"]["stars"]["krippendorff_alpha"] == pytest.approx(
        _alpha(2, float, "ordinal"), abs=1e-9
    )
    assert body["controls"]["stars"]["level"] == "ordinal"
    labels = body["controls"]["label"]
    assert labels["type"] == "labels" and 0 < labels["span_f1"] < labels["span_f1_overlap"] <= 1
    assert set(labels["per_label"]) == {"ORG", "PER"} and labels["per_label"]["PER"]["support"] == 2
    assert body["controls"]["note"]["krippendorff_alpha"] is None
    assert body["controls"]["note"]["reason"]


def _stats_now(project) -> tuple[dict, int, int, dict]:
    quality = project_quality(project.pk)
    rows = {
        row.task_id: (json.loads(row.stats), row.consensus, row.tie, row.agreement)
        for row in TaskQuality.objects.all()
    }
    return quality.stats, quality.tasks, quality.annotations, rows


def test_incremental_upkeep_equals_a_full_recompute(cast, quality_world):
    project, tasks, annotations = quality_world
    membership = Membership.objects.get(user=cast.users["manager"], organization=cast.org)
    annotation_update(
        annotation=annotations[(tasks[0].pk, "annotator")], user=cast.users["manager"], membership=membership,
        fields={"result": result("Negative", [(0, 2, "PER")], 1)},
    )  # fmt: skip
    annotation_delete(annotation=annotations[(tasks[1].pk, "annotator2")], user=cast.users["manager"],
                      membership=membership)  # fmt: skip
    annotation_create(task=tasks[4], user=cast.users["annotator2"], result=result("Negative", [], 1))
    task_delete(task=tasks[3], user=cast.users["manager"])
    incremental = _stats_now(project)
    project_quality_recompute(project=project)
    assert _stats_now(project) == incremental
    assert incremental[1] == 3  # tasks 1, 3 and 5; task 2 fell to one annotation, task 4 is gone


def test_bulk_delete_of_annotations_subtracts_their_share(cast, quality_world):
    project, tasks, _ = quality_world
    query = TaskQuery(selection=Selection(all=False, ids=(tasks[0].pk,)))
    task_action_run(project=project, user=cast.users["manager"], action="delete_annotations", query=query)
    incremental = _stats_now(project)
    project_quality_recompute(project=project)
    assert _stats_now(project) == incremental and incremental[1] == 3


def test_import_with_annotations_computes_agreement(api, cast, make_project):
    project = make_project(CONFIG, maximum_annotations=2)
    payload = [{"data": {"text": TEXT}, "annotations": [
        {"result": result("Positive"), "completed_by": cast.users["annotator"].pk},
        {"result": result("Negative"), "completed_by": cast.users["annotator2"].pk},
    ]}]  # fmt: skip
    assert (
        api("manager").post(f"/api/projects/{project.pk}/import", payload, format="json").status_code == 201
    )
    task = Task.objects.get(project=project)
    quality = TaskQuality.objects.get(task=task)
    assert quality.controls["sentiment"] == 0.0 and quality.controls["label"] == 1.0  # neither marked a span
    assert task_agreement(task) == 0.5
    assert quality.tie is True


def test_consensus_shows_to_reviewers_on_the_task(api, cast, quality_world):
    _, tasks, _ = quality_world
    body = api("reviewer").get(f"/api/tasks/{tasks[0].pk}/").json()
    consensus = body["consensus"]
    assert consensus["tie"] is False
    by_control = {region["from_name"]: region for region in consensus["result"]}
    assert by_control["sentiment"]["value"] == {"choices": ["Positive"]}
    assert by_control["label"]["value"] == {"start": 3, "end": 10, "labels": ["ORG"]}
    assert by_control["stars"]["value"] == {"rating": 4.0}
    assert consensus["agreement"] == pytest.approx(TaskQuality.objects.get(task=tasks[0]).agreement)
    assert "consensus" not in api("annotator").get(f"/api/tasks/{tasks[0].pk}/").json()
    # Below the overlap: agreement, no consensus.
    assert api("reviewer").get(f"/api/tasks/{tasks[1].pk}/").json()["consensus"] is None


def test_by_annotator_pair_and_by_task(api, cast, quality_world):
    project, tasks, _ = quality_world
    pairs = api("manager").get(f"/api/projects/{project.pk}/agreement/?by=annotator_pair").json()["pairs"]
    assert len(pairs) == 3
    emails = {frozenset(user["email"] for user in pair["annotators"]) for pair in pairs}
    assert frozenset({"annotator@acme.test", "annotator2@acme.test"}) in emails
    first = next(p for p in pairs if {u["id"] for u in p["annotators"]} == {cast.users["annotator"].pk,
                                                                           cast.users["annotator2"].pk})  # fmt: skip
    assert first["tasks"] == 4 and set(first["controls"]) == {"sentiment", "label", "stars"}
    page = api("manager").get(f"/api/projects/{project.pk}/agreement/?by=task&page=1&page_size=2").json()
    assert page["count"] == 4 and [row["inner_id"] for row in page["results"]] == [1, 2]
    assert page["results"][0]["task"] == tasks[0].pk and set(page["results"][0]["controls"]) == {
        "sentiment", "label", "stars"}  # fmt: skip


def test_confusion_between_annotators_and_against_consensus(api, cast, quality_world):
    project, _, _ = quality_world
    url = f"/api/projects/{project.pk}/agreement/confusion"
    a, b = cast.users["annotator"].pk, cast.users["annotator2"].pk
    body = api("reviewer").get(f"{url}?control=sentiment&a={a}&b={b}").json()
    assert body["labels"] == ["Negative", "Neutral", "Positive"]
    assert body["matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 2]] and body["tasks"] == 4
    flipped = api("reviewer").get(f"{url}?control=sentiment&a={b}&b={a}").json()
    assert flipped["matrix"] == [list(column) for column in zip(*body["matrix"], strict=True)]
    against = api("reviewer").get(f"{url}?control=label&a={b}&b=consensus").json()
    assert None in against["labels"] and against["tasks"] > 0
    for query in ("control=nope&a=1&b=2", "control=sentiment&a=x&b=2", "control=sentiment&a=gold&b=consensus",
                  "control=sentiment&b=2"):  # fmt: skip
        response = api("reviewer").get(f"{url}?{query}")
        assert response.status_code == 400, query


def test_roles_and_other_organizations(api, quality_world, make_project, cast):
    project, _, _ = quality_world
    for path in ("agreement/", "agreement/?by=task", "agreement/confusion?control=sentiment&a=1&b=2"):
        assert api("annotator").get(f"/api/projects/{project.pk}/{path}").status_code == 403
        assert api("outsider").get(f"/api/projects/{project.pk}/{path}").status_code == 404
    assert api("reviewer").get(f"/api/projects/{project.pk}/agreement/?by=nope").status_code == 400
    assert api("reviewer").get(f"/api/projects/{project.pk}/agreement/?by=task&page=0").status_code == 400
    empty = make_project(CONFIG)
    body = api("reviewer").get(f"/api/projects/{empty.pk}/agreement/").json()
    assert body["tasks"] == 0 and body["controls"]["sentiment"]["krippendorff_alpha"] is None
    assert body["controls"]["sentiment"]["reason"]


def test_agreement_costs_the_same_queries_at_any_project_size(api, cast, make_project):
    project = make_project(CONFIG, maximum_annotations=2, tasks=[{"text": TEXT} for _ in range(12)])
    tasks = list(project.tasks.order_by("inner_id"))

    def annotate(some):
        for task in some:
            for role in ("annotator", "annotator2"):
                annotation_create(
                    task=task, user=cast.users[role], result=result("Positive", [(0, 2, "ORG")], 3)
                )

    def count(path: str) -> int:
        client = api("reviewer")
        client.get(path)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        return len(queries)

    paths = [f"/api/projects/{project.pk}/agreement/", f"/api/projects/{project.pk}/agreement/?by=annotator_pair",
             f"/api/projects/{project.pk}/agreement/?by=task",
             f"/api/projects/{project.pk}/agreement/confusion?control=sentiment&a=consensus&b={cast.users['annotator'].pk}"]  # fmt: skip
    annotate(tasks[:2])
    small = [count(path) for path in paths]
    annotate(tasks[2:])
    assert [count(path) for path in paths] == small


def test_first_submit_of_a_task_adds_no_statement(cast, make_project, django_assert_num_queries):
    project = make_project(CONFIG, maximum_annotations=1, tasks=[{"text": TEXT}])
    task = project.tasks.get()
    with CaptureQueriesContext(connection) as queries:
        annotation_create(task=task, user=cast.users["annotator"], result=result("Positive"))
    assert not any("quality" in query["sql"] for query in queries.captured_queries)


def test_recompute_command(cast, quality_world, capsys):
    project, _, _ = quality_world
    before = _stats_now(project)
    ProjectQualityShard.objects.filter(project=project).update(stats={}, tasks=0)
    # The dashboard's totals too: the command rebuilds every agreement and annotator figure.
    AnnotatorDay.objects.filter(project=project).update(submitted=50)
    Project.objects.filter(pk=project.pk).update(tasks_in_review=9)
    assert activity_differences(project.pk)
    call_command("tessera_recompute_quality", "--project", str(project.pk))
    assert _stats_now(project) == before
    assert activity_differences(project.pk) == []
    assert "4 tasks" in capsys.readouterr().out


def test_a_reviewer_marks_the_best_free_text_answer_as_the_task_s_consensus(api, cast, make_project):
    project = make_project(CONFIG, maximum_annotations=2, tasks=[{"text": TEXT}, {"text": TEXT}])
    task, lone = project.tasks.order_by("inner_id")
    first = annotation_create(task=task, user=cast.users["annotator"], result=result(note="短い答え"))
    second = annotation_create(
        task=task, user=cast.users["annotator2"], result=result(note="A fuller answer.")
    )
    annotation_create(task=lone, user=cast.users["annotator"], result=result(note="alone"))
    url = f"/api/tasks/{task.pk}/consensus/"
    assert api("annotator").post(url, {"annotation": second.pk}, format="json").status_code == 403
    assert api("outsider").post(url, {"annotation": second.pk}, format="json").status_code == 404
    missing = api("reviewer").post(url, {}, format="json")
    assert (missing.status_code, missing.json()["error"]["field"]) == (400, "annotation")
    foreign = api("reviewer").post(url, {"annotation": 10**12}, format="json")
    assert (foreign.status_code, foreign.json()["error"]["field"]) == (400, "annotation")
    alone = api("reviewer").post(f"/api/tasks/{lone.pk}/consensus/", {"annotation": None}, format="json")
    assert (alone.status_code, alone.json()["error"]["code"]) == (409, "no_consensus")

    chosen = api("reviewer").post(url, {"annotation": second.pk}, format="json")
    assert chosen.status_code == 200, chosen.content
    notes = [region for region in chosen.json()["result"] if region["from_name"] == "note"]
    assert [region["value"]["text"] for region in notes] == [["A fuller answer."]]
    assert TaskQuality.objects.get(task=task).best_annotation_id == second.pk
    # A later answer's refresh keeps the pick; clearing it leaves free text without a consensus.
    annotation_update(
        annotation=first, user=cast.users["annotator"], membership=Membership.objects.get(user=cast.users["annotator"]),
        fields={"result": result(note="短い答え、直した")},
    )  # fmt: skip
    assert TaskQuality.objects.get(task=task).best_annotation_id == second.pk
    cleared = api("reviewer").post(url, {"annotation": None}, format="json").json()
    assert [region for region in cleared["result"] if region["from_name"] == "note"] == []
