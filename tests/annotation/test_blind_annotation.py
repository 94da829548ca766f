"""Blind annotation (annotation/visibility.py) on every endpoint that shows annotations, for every role.

The world: a project with overlap 3 and three tasks.

* ``shared``: the annotator's answer (Positive), annotator2's (Negative), the manager's gold answer
  (Neutral, ground_truth) and a prediction;
* ``theirs``: annotator2's answer only;
* ``skipped``: the annotator's skip and annotator2's answer.
"""

import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.services.annotations import annotation_create, draft_save, prediction_create
from tests.conftest import choice, patch_json

pytestmark = pytest.mark.django_db

SEES_ALL = ["reviewer", "manager", "admin", "owner"]
ALL_ROLES = ["annotator", *SEES_ALL]


@pytest.fixture
def blind(cast, make_project):
    project = make_project(
        tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}, {"text": "Rates hold."}],
        maximum_annotations=3,
    )
    shared, theirs, skipped = project.tasks.order_by("inner_id")
    annotator, other, manager = cast.users["annotator"], cast.users["annotator2"], cast.users["manager"]
    objects = {
        "project": project,
        "shared": shared,
        "theirs": theirs,
        "skipped": skipped,
        "mine": annotation_create(task=shared, user=annotator, result=choice("Positive")),
        "other": annotation_create(task=shared, user=other, result=choice("Negative")),
        "gold": annotation_create(task=shared, user=manager, result=choice("Neutral"), ground_truth=True),
        "other_alone": annotation_create(task=theirs, user=other, result=choice("Negative")),
        "my_skip": annotation_create(task=skipped, user=annotator, result=[], was_cancelled=True),
        "other_on_skipped": annotation_create(task=skipped, user=other, result=choice("Negative")),
        "prediction": prediction_create(task=shared, user=manager, result=choice("Neutral"), score=0.5),
    }
    draft_save(task=shared, user=other, result=choice("Neutral"))
    return objects


def show_after_submit(blind) -> None:
    project = blind["project"]
    project.show_annotations_after_submit = True
    project.save(update_fields=["show_annotations_after_submit"])


def ids(*annotations) -> list[int]:
    return sorted(annotation.pk for annotation in annotations)


def everything(blind) -> dict[str, list[int]]:
    return {
        "shared": ids(blind["mine"], blind["other"], blind["gold"]),
        "theirs": ids(blind["other_alone"]),
        "skipped": ids(blind["my_skip"], blind["other_on_skipped"]),
    }


def expected(blind, role: str, *, after_submit: bool = False) -> dict[str, list[int]]:
    if role in SEES_ALL:
        return everything(blind)
    if after_submit:
        # Submitted on shared: sees the other submitted answer, never the gold one; skipped "skipped".
        return {"shared": ids(blind["mine"], blind["other"]), "theirs": [], "skipped": ids(blind["my_skip"])}
    return {"shared": ids(blind["mine"]), "theirs": [], "skipped": ids(blind["my_skip"])}


def by_task(blind, tasks: list[dict]) -> dict[str, list[int]]:
    names = {blind[name].pk: name for name in ("shared", "theirs", "skipped")}
    return {names[task["id"]]: sorted(a["id"] for a in task["annotations"]) for task in tasks}


LABELS_FILTER = quote(json.dumps({"conjunction": "and", "items": [
    {"filter": "filter:tasks:labels:sentiment", "operator": "contains", "type": "List", "value": "Negative"}]}))  # fmt: skip
ANNOTATORS_FILTER = quote(json.dumps({"conjunction": "or", "items": [
    {"filter": "filter:tasks:data.text", "operator": "contains", "type": "String", "value": "Rates",
     "child_filters": [{"filter": "filter:tasks:completed_by", "operator": "contains", "type": "List", "value": 1}]}]}))  # fmt: skip
TEXT_FILTER = quote(json.dumps({"conjunction": "and", "items": [
    {"filter": "filter:tasks:data.text", "operator": "contains", "type": "String", "value": "Rates"}]}))  # fmt: skip


# --- task detail, annotation list and detail --------------------------------------------------------------


@pytest.mark.parametrize("after_submit", [False, True])
@pytest.mark.parametrize("role", ALL_ROLES)
def test_task_detail_and_annotation_list_show_what_the_role_may_see(api, blind, role, after_submit):
    if after_submit:
        show_after_submit(blind)
    want = expected(blind, role, after_submit=after_submit)
    client = api(role)
    for name in ("shared", "theirs", "skipped"):
        task = client.get(f"/api/tasks/{blind[name].pk}/").json()
        assert sorted(a["id"] for a in task["annotations"]) == want[name], name
        listed = client.get(f"/api/tasks/{blind[name].pk}/annotations/").json()
        assert sorted(a["id"] for a in listed) == want[name], name
    shared = client.get(f"/api/tasks/{blind['shared'].pk}/").json()
    # Predictions are suggestions: everyone sees them; counters are no answers.
    assert [p["id"] for p in shared["predictions"]] == [blind["prediction"].pk]
    assert shared["total_annotations"] == 3


@pytest.mark.parametrize("after_submit", [False, True])
@pytest.mark.parametrize("role", ALL_ROLES)
def test_annotation_detail_of_an_unseen_annotation_is_404(api, blind, role, after_submit):
    if after_submit:
        show_after_submit(blind)
    visible = {pk for pks in expected(blind, role, after_submit=after_submit).values() for pk in pks}
    client = api(role)
    for name in ("mine", "other", "gold", "other_alone", "my_skip", "other_on_skipped"):
        response = client.get(f"/api/annotations/{blind[name].pk}/")
        assert response.status_code == (200 if blind[name].pk in visible else 404), name
        if response.status_code == 200:
            assert response.json()["result"] == blind[name].result


def test_annotator_cannot_change_delete_or_draft_on_an_unseen_annotation(api, blind, snapshot):
    before = snapshot()
    client = api("annotator")
    other = blind["other"].pk
    assert patch_json(client, f"/api/annotations/{other}/", {"result": choice("Positive")}).status_code == 404
    assert client.delete(f"/api/annotations/{other}/").status_code == 404
    draft = client.post(
        f"/api/tasks/{blind['shared'].pk}/drafts/",
        data=json.dumps({"result": [], "annotation": other}),
        content_type="application/json",
    )
    assert draft.status_code == 404
    assert snapshot() == before


def test_drafts_stay_private(api, blind):
    assert api("annotator").get(f"/api/tasks/{blind['shared'].pk}/drafts/").json() == []


# --- task lists -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("after_submit", [False, True])
@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("query", ["", "&ordering=-total_annotations", f"&filters={TEXT_FILTER}"])
def test_task_list_pages_show_what_the_role_may_see(api, blind, role, after_submit, query):
    if after_submit:
        show_after_submit(blind)
    response = api(role).get(f"/api/tasks/?project={blind['project'].pk}{query}")
    assert response.status_code == 200
    assert by_task(blind, response.json()["tasks"]) == expected(blind, role, after_submit=after_submit)


@pytest.mark.parametrize("query", ["", "&ordering=-total_annotations", f"&filters={TEXT_FILTER}"])
def test_blind_task_list_costs_the_queries_of_an_open_one(api, blind, cast, query):
    """The rule is part of the annotations' prefetch (a condition, an EXISTS with the setting on):
    no query per row, the same count for every role and setting."""
    url = f"/api/tasks/?project={blind['project'].pk}{query}"

    def count(role: str) -> int:
        client = api(role)
        client.get(url)  # the token's first use stamps it
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    open_count = count("reviewer")
    assert count("annotator") == open_count
    show_after_submit(blind)
    assert count("annotator") == open_count


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("which", ["labels", "annotators"])
def test_filters_on_everyones_labels_or_annotators_are_refused_to_annotators(api, blind, role, which):
    data_filter = LABELS_FILTER if which == "labels" else ANNOTATORS_FILTER
    response = api(role).get(f"/api/tasks/?project={blind['project'].pk}&filters={data_filter}")
    if role in SEES_ALL:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "blind_annotation"


# --- history ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("after_submit", [False, True])
@pytest.mark.parametrize("role", ALL_ROLES)
def test_task_history_names_only_visible_annotations(api, blind, role, after_submit):
    if after_submit:
        show_after_submit(blind)
    response = api(role).get(f"/api/tasks/{blind['shared'].pk}/history/")
    assert response.status_code == 200
    events = response.json()
    annotation_events = {e["object_id"] for e in events if e["object_type"] == "annotation.annotation"}
    assert sorted(annotation_events) == expected(blind, role, after_submit=after_submit)["shared"]
    if role == "annotator":
        assert {e["object_type"] for e in events} == {"annotation.annotation"}
        if not after_submit:
            assert "Negative" not in json.dumps(events)
        assert blind["gold"].pk not in annotation_events
    else:
        assert "annotation.prediction" in {e["object_type"] for e in events}


def test_annotator_gets_403_on_history_of_a_task_they_did_not_annotate(api, blind):
    assert api("annotator").get(f"/api/tasks/{blind['theirs'].pk}/history/").status_code == 403


# --- labeling endpoints -----------------------------------------------------------------------------------


@pytest.mark.parametrize("after_submit", [False, True])
def test_labeling_recent_and_next_hold_no_other_annotations(api, blind, cast, make_project, after_submit):
    if after_submit:
        show_after_submit(blind)
    client = api("annotator")
    recent = client.get(f"/api/labeling/projects/{blind['project'].pk}/recent").json()["results"]
    assert {row["annotation"]["completed_by"] for row in recent} == {cast.users["annotator"].pk}
    assert all("annotations" not in row["task"] for row in recent)
    taken = client.post(f"/api/labeling/projects/{blind['project'].pk}/next").json()["task"]
    assert taken["id"] == blind["theirs"].pk
    assert taken["annotations"] == []
    assert [d["user"] for d in taken["drafts"]] in ([], [cast.users["annotator"].pk])
    token_next = client.post(f"/api/projects/{blind['project'].pk}/next").json()
    assert token_next["annotations"] == []


# --- the comment panel's annotation link ------------------------------------------------------------------


def test_annotator_cannot_attach_a_comment_to_an_unseen_annotation(api, blind):
    response = api("annotator").post(
        f"/api/tasks/{blind['shared'].pk}/comments/",
        data=json.dumps({"text": "x", "annotation": blind["gold"].pk}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "annotation"
