"""Annotations, drafts and predictions through the API: counters, labeled state, validation, limits."""

import json

import pytest

from annotation.models import Annotation, Draft, Prediction, Task
from tests.annotation.conftest import json_of
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db


def counters(task: Task) -> tuple[int, int, bool]:
    task.refresh_from_db()
    return task.total_annotations, task.cancelled_annotations, task.is_labeled


@pytest.fixture
def task(make_project):
    return make_project(tasks=[{"text": "Rates rise."}]).tasks.get()


@pytest.fixture
def task_overlap_2(make_project):
    return make_project(tasks=[{"text": "Rates rise."}], maximum_annotations=2).tasks.get()


def submit(api, role: str, task: Task, **body):
    return post_json(api(role), f"/api/tasks/{task.pk}/annotations/", {"result": choice("Positive"), **body})


# --- counters and labeled state -------------------------------------------------------------------------------


def test_submitting_under_overlap_1_labels_the_task(api, task, cast):
    response = submit(api, "annotator", task, lead_time=4.2)
    assert response.status_code == 201
    body = response.json()
    assert (body["task"], body["project"], body["completed_by"]) == (
        task.pk,
        task.project_id,
        cast.users["annotator"].pk,
    )
    assert body["result"] == choice("Positive") and body["lead_time"] == 4.2
    assert counters(task) == (1, 0, True)


def test_under_overlap_2_the_task_is_labeled_only_after_the_second_submission(api, task_overlap_2):
    submit(api, "annotator", task_overlap_2)
    assert counters(task_overlap_2) == (1, 0, False)
    submit(api, "annotator2", task_overlap_2)
    assert counters(task_overlap_2) == (2, 0, True)


@pytest.mark.parametrize(("fixture", "overlap"), [("task", 1), ("task_overlap_2", 2)])
def test_skipping_counts_as_cancelled_and_does_not_label(api, request, fixture, overlap):
    task = request.getfixturevalue(fixture)
    response = submit(api, "annotator", task, result=[], was_cancelled=True)
    assert response.status_code == 201
    assert response.json()["was_cancelled"] is True
    assert counters(task) == (0, 1, False)


def test_turning_a_skip_into_a_submission_moves_the_counters(api, task):
    annotation_id = submit(api, "annotator", task, result=[], was_cancelled=True).json()["id"]
    response = patch_json(api("annotator"), f"/api/annotations/{annotation_id}/", {"was_cancelled": False})
    assert response.status_code == 200
    assert counters(task) == (1, 0, True)
    patch_json(api("annotator"), f"/api/annotations/{annotation_id}/", {"was_cancelled": True})
    assert counters(task) == (0, 1, False)


def test_updating_the_result_keeps_the_counters(api, task):
    annotation_id = submit(api, "annotator", task).json()["id"]
    response = patch_json(
        api("annotator"), f"/api/annotations/{annotation_id}/", {"result": choice("Negative")}
    )
    assert response.status_code == 200
    assert response.json()["result"] == choice("Negative")
    assert Annotation.objects.get().result == choice("Negative")
    assert counters(task) == (1, 0, True)


@pytest.mark.parametrize(("fixture", "overlap"), [("task", 1), ("task_overlap_2", 2)])
def test_deleting_an_annotation_unlabels_the_task(api, request, fixture, overlap):
    task = request.getfixturevalue(fixture)
    ids = [submit(api, role, task).json()["id"] for role in ("annotator", "annotator2")[:overlap]]
    assert counters(task) == (overlap, 0, True)
    assert api("annotator").delete(f"/api/annotations/{ids[0]}/").status_code == 204
    assert counters(task) == (overlap - 1, 0, False)


def test_deleting_a_skip_lowers_only_the_cancelled_count(api, task):
    submit(api, "annotator", task)
    skip = submit(api, "annotator2", task, result=[], was_cancelled=True).json()["id"]
    assert api("annotator2").delete(f"/api/annotations/{skip}/").status_code == 204
    assert counters(task) == (1, 0, True)


def test_task_detail_shows_annotations_and_predictions(api, task):
    submit(api, "annotator", task)
    post_json(
        api("manager"), "/api/predictions/", {"task": task.pk, "result": choice("Neutral"), "score": 0.4}
    )
    body = api("reviewer").get(f"/api/tasks/{task.pk}/").json()
    assert [a["result"] for a in body["annotations"]] == [choice("Positive")]
    assert [p["score"] for p in body["predictions"]] == [0.4]
    assert (body["total_annotations"], body["total_predictions"], body["is_labeled"]) == (1, 1, True)


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"result": choice("Bullish")}, "result[0]", "invalid_result"),
        ({"result": {"choices": ["Positive"]}}, "result", "invalid_result"),
        ({"result": [{**choice("Positive")[0], "from_name": "mood"}]}, "result[0]", "invalid_result"),
        ({"lead_time": -1}, "lead_time", "invalid"),
        ({"lead_time": "slow"}, "lead_time", "invalid"),
        ({"was_cancelled": "yes"}, "was_cancelled", "invalid"),
        ({"ground_truth": 1}, "ground_truth", "invalid"),
        ({"parent_prediction": "1"}, "parent_prediction", "invalid"),
        (
            {"result": [{**choice("Positive")[0], "meta": {"note": "a\u0000b"}}]},
            "result[0].meta.note",
            "nul_character",
        ),
    ],
)
def test_bad_annotation_is_refused_naming_the_field_and_nothing_is_written(
    api, task, snapshot, body, field, code
):
    before = snapshot()
    response = submit(api, "annotator", task, **body)
    assert response.status_code == 400
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == (field, code)
    assert snapshot() == before


def test_bad_update_is_refused_and_the_annotation_stays_as_it_was(api, task, snapshot):
    annotation_id = submit(api, "annotator", task).json()["id"]
    before = snapshot()
    for body in ({"result": choice("Bullish")}, {"was_cancelled": None}, {"lead_time": -3}, [1]):
        response = patch_json(api("annotator"), f"/api/annotations/{annotation_id}/", body)
        assert response.status_code == 400, body
    assert snapshot() == before


def test_empty_annotation_is_refused_when_the_project_forbids_it_but_a_skip_is_not(api, make_project):
    task = make_project(tasks=[{"text": "a"}], enable_empty_annotation=False).tasks.get()
    response = submit(api, "annotator", task, result=[])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_annotation"
    assert submit(api, "annotator", task, result=[], was_cancelled=True).status_code == 201


def test_an_update_cannot_empty_an_annotation_when_the_project_forbids_it(api, make_project, snapshot):
    task = make_project(tasks=[{"text": "a"}], enable_empty_annotation=False).tasks.get()
    submitted = submit(api, "annotator", task).json()["id"]
    skipped = submit(api, "annotator2", task, result=[], was_cancelled=True).json()["id"]
    before = snapshot()
    for annotation_id, body in ((submitted, {"result": []}), (skipped, {"was_cancelled": False})):
        response = patch_json(api("manager"), f"/api/annotations/{annotation_id}/", body)
        assert (response.status_code, response.json()["error"]["code"]) == (400, "empty_annotation")
    assert snapshot() == before


def test_result_over_the_size_limit_is_refused_everywhere(api, task, settings, snapshot):
    settings.TESSERA_MAX_RESULT_BYTES = 200
    big = [{**choice("Positive")[0], "meta": {"text": "x" * 300}}]
    annotation_id = submit(api, "annotator", task).json()["id"]
    before = snapshot()
    for response in (
        submit(api, "annotator2", task, result=big),
        patch_json(api("annotator"), f"/api/annotations/{annotation_id}/", {"result": big}),
        post_json(api("manager"), "/api/predictions/", {"task": task.pk, "result": big}),
        post_json(api("annotator2"), f"/api/tasks/{task.pk}/drafts", {"result": big}),
    ):
        assert response.status_code == 400
        assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
            "too_large",
            "result",
        )
        assert "limit is 200" in response.json()["error"]["message"]
    assert snapshot() == before


def test_result_size_counts_bytes_not_characters(api, task, settings):
    region = {**choice("Positive")[0], "meta": {"text": "日本" * 60}}  # 120 characters, 360 bytes
    characters = len(json.dumps([region], ensure_ascii=False))
    settings.TESSERA_MAX_RESULT_BYTES = characters + 10
    response = submit(api, "annotator", task, result=[region])
    assert (response.status_code, response.json()["error"]["code"]) == (400, "too_large")
    settings.TESSERA_MAX_RESULT_BYTES = len(json.dumps([region], ensure_ascii=False).encode())
    assert submit(api, "annotator", task, result=[region]).status_code == 201


def test_a_backslash_before_u0000_is_text_not_a_nul(api, task):
    region = {**choice("Positive")[0], "meta": {"note": "C:\\u0000dir"}}
    response = submit(api, "annotator", task, result=[region])
    assert response.status_code == 201
    assert Annotation.objects.get().result[0]["meta"]["note"] == "C:\\u0000dir"


def test_annotation_body_that_is_not_an_object_is_refused(api, task):
    response = post_json(api("annotator"), f"/api/tasks/{task.pk}/annotations/", [choice("Positive")])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


# --- drafts ----------------------------------------------------------------------------------------------------


def test_a_draft_is_not_an_annotation(api, task):
    response = post_json(
        api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Neutral"), "lead_time": 2}
    )
    assert response.status_code == 201
    assert not Annotation.objects.exists()
    assert counters(task) == (0, 0, False)
    assert api("annotator").get(f"/api/tasks/{task.pk}/annotations/").json() == []
    assert "drafts" not in api("annotator").get(f"/api/tasks/{task.pk}/").json()


def test_saving_a_draft_again_replaces_it(api, task):
    post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": []})
    post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Neutral")})
    assert list(Draft.objects.values_list("result", flat=True)) == [choice("Neutral")]


def test_a_draft_may_be_partial_but_must_be_a_list(api, task):
    partial = [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {}}]
    assert post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": partial}).status_code == 201
    response = post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": "Positive"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "result"


def test_submitting_deletes_the_callers_draft_only(api, task):
    post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Neutral")})
    post_json(api("annotator2"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Negative")})
    submit(api, "annotator", task)
    assert [d.user.email for d in Draft.objects.all()] == ["annotator2@acme.test"]


def test_updating_an_annotation_deletes_the_draft_of_that_annotation(api, task):
    annotation_id = submit(api, "annotator", task).json()["id"]
    body = {"result": choice("Neutral"), "annotation": annotation_id}
    assert post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", body).status_code == 201
    patch_json(api("annotator"), f"/api/annotations/{annotation_id}/", {"result": choice("Neutral")})
    assert not Draft.objects.exists()


def test_each_member_sees_only_their_own_drafts(api, task):
    post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Neutral")})
    assert api("annotator2").get(f"/api/tasks/{task.pk}/drafts").json() == []
    assert api("manager").get(f"/api/tasks/{task.pk}/drafts").json() == []
    assert len(api("annotator").get(f"/api/tasks/{task.pk}/drafts").json()) == 1


@pytest.mark.parametrize("role", ["annotator2", "manager", "owner"])
def test_another_members_draft_answers_404(api, task, snapshot, role):
    draft_id = post_json(
        api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": choice("Neutral")}
    ).json()["id"]
    before = snapshot()
    client = api(role)
    assert client.get(f"/api/drafts/{draft_id}/").status_code == 404
    assert patch_json(client, f"/api/drafts/{draft_id}/", {"result": []}).status_code == 404
    assert client.delete(f"/api/drafts/{draft_id}/").status_code == 404
    assert snapshot() == before


def test_owner_of_a_draft_may_read_change_and_delete_it(api, task):
    draft_id = post_json(api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": []}).json()["id"]
    assert api("annotator").get(f"/api/drafts/{draft_id}/").json()["result"] == []
    response = patch_json(api("annotator"), f"/api/drafts/{draft_id}/", {"result": choice("Neutral")})
    assert response.json()["result"] == choice("Neutral")
    assert api("annotator").delete(f"/api/drafts/{draft_id}/").status_code == 204
    assert not Draft.objects.exists()


def test_a_draft_cannot_point_at_an_annotation_of_another_task(api, make_project, task):
    other_task = make_project(tasks=[{"text": "b"}]).tasks.get()
    other_annotation = submit(api, "annotator", other_task).json()["id"]
    response = post_json(
        api("annotator"), f"/api/tasks/{task.pk}/drafts", {"result": [], "annotation": other_annotation}
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "annotation"
    assert not Draft.objects.exists()


# --- predictions -----------------------------------------------------------------------------------------------


def test_manager_creates_and_lists_predictions(api, task):
    response = post_json(
        api("manager"), "/api/predictions/",
        {"task": task.pk, "result": choice("Negative"), "score": 0.8, "model_version": "finbert-1"},
    )  # fmt: skip
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("task", "project", "score", "model_version")} == {
        "task": task.pk, "project": task.project_id, "score": 0.8, "model_version": "finbert-1",
    }  # fmt: skip
    assert counters(task)[:2] == (0, 0)
    task.refresh_from_db()
    assert task.total_predictions == 1
    for query in (f"task={task.pk}", f"project={task.project_id}", ""):
        listed = json_of(api("annotator").get(f"/api/predictions/?{query}"))
        assert [p["id"] for p in listed] == [response.json()["id"]]


def test_deleting_a_prediction_lowers_the_tasks_count(api, task):
    prediction_id = post_json(api("manager"), "/api/predictions/", {"task": task.pk, "result": []}).json()[
        "id"
    ]
    assert api("manager").delete(f"/api/predictions/{prediction_id}/").status_code == 204
    task.refresh_from_db()
    assert task.total_predictions == 0
    assert not Prediction.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 1.5}, "score"),
        ({"score": -0.01}, "score"),
        ({"score": True}, "score"),
        ({"score": "0.5"}, "score"),
        ({"result": choice("Bullish")}, "result[0]"),
        ({"result": "Positive"}, "result"),
        ({"model_version": 3}, "model_version"),
        ({"model_version": "v" * 201}, "model_version"),
        ({"task": None}, "task"),
        ({"task": "abc"}, None),
    ],
)
def test_bad_prediction_is_refused_naming_the_field(api, task, snapshot, body, field):
    before = snapshot()
    response = post_json(
        api("manager"), "/api/predictions/", {"task": task.pk, "result": choice("Neutral"), **body}
    )
    assert response.status_code in (400, 404)
    assert response.json()["error"]["field"] == field
    assert snapshot() == before


def test_listing_predictions_of_a_task_that_is_not_an_id_answers_400(api):
    response = api("manager").get("/api/predictions/?task=abc")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "task"


def test_annotation_from_an_unchanged_prediction_is_accepted(api, task):
    prediction_id = post_json(
        api("manager"), "/api/predictions/", {"task": task.pk, "result": choice("Positive")}
    ).json()["id"]
    response = submit(api, "annotator", task, parent_prediction=prediction_id)
    assert response.status_code == 201
    assert response.json()["parent_prediction"] == prediction_id
    assert response.json()["prediction_changes"] == {"accepted": True, "kept": 1, "removed": 0, "added": 0}


def test_annotation_that_changes_the_prediction_records_what_changed(api, task):
    prediction_id = post_json(
        api("manager"), "/api/predictions/", {"task": task.pk, "result": choice("Positive")}
    ).json()["id"]
    response = submit(api, "annotator", task, result=choice("Negative"), parent_prediction=prediction_id)
    assert response.json()["prediction_changes"] == {"accepted": False, "kept": 0, "removed": 1, "added": 1}
    annotation_id = response.json()["id"]
    response = patch_json(
        api("annotator"), f"/api/annotations/{annotation_id}/", {"result": choice("Positive")}
    )
    assert response.json()["prediction_changes"]["accepted"] is True
    assert Annotation.objects.get().prediction_changes["accepted"] is True


def test_parent_prediction_of_another_task_is_refused(api, make_project, task, snapshot):
    other = make_project(tasks=[{"text": "b"}]).tasks.get()
    prediction_id = post_json(api("manager"), "/api/predictions/", {"task": other.pk, "result": []}).json()[
        "id"
    ]
    before = snapshot()
    response = submit(api, "annotator", task, parent_prediction=prediction_id)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "parent_prediction"
    assert snapshot() == before
