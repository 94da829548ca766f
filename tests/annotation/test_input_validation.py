"""Input that used to reach a 500: lone surrogates, deep nesting, huge numbers, ids beyond 64 bits, and
an annotator marking ground truth. Each answers a 4xx naming the field, and nothing is written."""

import pytest

from annotation.models import Annotation
from tests.annotation.conftest import json_of
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db

SURROGATE = '"bad \\ud800 text"'  # a JSON escape for a lone surrogate; no UTF-8 encoder can write it


def raw_post(client, url: str, text: str, method: str = "post"):
    return getattr(client, method)(url, data=text, content_type="application/json")


def nested_result(levels: int) -> str:
    return (
        '{"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": '
        + "[" * levels
        + "]" * levels
        + "}]}"
    )


def assert_refused(response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:400]
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert error["field"] == field, error
    return error


def test_a_lone_surrogate_is_refused_in_every_kind_of_text_field(world, api, snapshot):
    before = snapshot()
    ids = {name: obj.pk for name, obj in world.items()}
    cases = [
        ("post", "/api/projects/", '{"title": ' + SURROGATE + "}", "title"),
        ("patch", f"/api/projects/{ids['project']}/", '{"expert_instruction": ' + SURROGATE + "}", "expert_instruction"),
        ("post", f"/api/tasks/{ids['free_task']}/annotations/",
         '{"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ['
         + SURROGATE + "]}}]}", "result[0].value.choices[0]"),
        ("patch", f"/api/tasks/{ids['task']}/", '{"data": {"text": ' + SURROGATE + "}}", "data.text"),
        ("post", f"/api/tasks/{ids['free_task']}/skip", '{"reason": ' + SURROGATE + "}", "reason"),
        ("post", "/api/predictions/", '{"task": ' + str(ids["task"]) + ', "result": [], "model_version": ' + SURROGATE + "}",
         "model_version"),
        ("post", f"/api/projects/{ids['project']}/import", "[{\"text\": \"x\", " + SURROGATE + ": 1}]", "tasks[0].data.bad \\ud800 text"),
        ("post", f"/api/tasks/{ids['task']}/drafts", '{"result": [], "x": ' + SURROGATE + "}", "x"),
    ]  # fmt: skip
    for method, url, text, field in cases:
        assert_refused(raw_post(api("owner"), url, text, method), 400, "surrogate_character", field)
    assert snapshot() == before


def test_a_lone_surrogate_in_an_import_file_is_refused_naming_the_task(world, api, snapshot):
    before = snapshot()
    upload = b'[{"text": "fine"}, {"text": "bad \\udc00"}]'
    response = api("owner").post(
        f"/api/projects/{world['project'].pk}/import",
        data={"file": _file("tasks.json", upload)},
        format="multipart",
    )
    assert_refused(response, 400, "surrogate_character", "tasks[1].data.text")
    assert snapshot() == before


def _file(name: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@pytest.mark.parametrize("levels", [317, 500, 940, 3000])
def test_a_deeply_nested_result_is_refused_not_a_recursion_error(world, api, snapshot, levels):
    before = snapshot()
    task = world["free_task"].pk
    for url, method in ((f"/api/tasks/{task}/annotations/", "post"), (f"/api/annotations/{world['annotation'].pk}/", "patch"),
                        (f"/api/tasks/{task}/drafts", "post"), ("/api/predictions/", "post")):  # fmt: skip
        text = nested_result(levels)
        if url == "/api/predictions/":
            text = text[:-1] + f', "task": {task}}}'
        response = raw_post(api("owner"), url, text, method)
        assert response.status_code == 400, (url, response.content[:300])
    assert snapshot() == before


@pytest.mark.parametrize("levels", [317, 940])
def test_deeply_nested_task_data_in_an_import_is_refused(world, api, snapshot, levels):
    before = snapshot()
    body = '[{"text": "x", "deep": ' + "[" * levels + "]" * levels + "}]"
    response = raw_post(api("owner"), f"/api/projects/{world['project'].pk}/import", body)
    # Python's own decoder may give up first, under a request's frames: a parse error, still a 400.
    assert assert_refused(response, 400)["code"] in ("too_deep", "parse_error")
    lines = ('{"text": "x", "deep": ' + '{"a": ' * levels + "1" + "}" * levels + "}").encode()
    response = api("owner").post(
        f"/api/projects/{world['project'].pk}/import",
        data={"file": _file("tasks.jsonl", lines)},
        format="multipart",
    )
    assert assert_refused(response, 400)["code"] in ("too_deep", "parse_error")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url_key", "method", "body", "field"),
    [
        ("annotations", "post", '{"result": [], "was_cancelled": true, "lead_time": ' + "9" * 400 + "}", "lead_time"),
        ("annotations", "post", '{"result": [], "was_cancelled": true, "lead_time": 1e308}', "lead_time"),
        ("annotations", "post", '{"result": [], "was_cancelled": true, "lead_time": 86401}', "lead_time"),
        ("annotation", "patch", '{"lead_time": ' + "9" * 400 + "}", "lead_time"),
        ("drafts", "post", '{"result": [], "lead_time": ' + "9" * 400 + "}", "lead_time"),
        ("skip", "post", '{"lead_time": ' + "9" * 400 + "}", "lead_time"),
        ("predictions", "post", '{"task": {task}, "result": [], "score": ' + "9" * 400 + "}", "score"),
        ("prediction", "patch", '{"score": ' + "9" * 400 + "}", "score"),
        ("import", "post", '[{"data": {"text": "x"}, "annotations": [{"result": [], "lead_time": ' + "9" * 400 + "}]}]",
         "tasks[0].annotations[0].lead_time"),
        ("import", "post", '[{"data": {"text": "x"}, "predictions": [{"result": [], "score": ' + "9" * 400 + "}]}]",
         "tasks[0].predictions[0].score"),
    ],
)  # fmt: skip
def test_numbers_of_hundreds_of_digits_or_beyond_their_bounds_are_refused(
    world, api, snapshot, url_key, method, body, field
):
    before = snapshot()
    ids = {name: obj.pk for name, obj in world.items()}
    url = {
        "annotations": f"/api/tasks/{ids['free_task']}/annotations/",
        "annotation": f"/api/annotations/{ids['annotation']}/",
        "drafts": f"/api/tasks/{ids['free_task']}/drafts",
        "skip": f"/api/tasks/{ids['free_task']}/skip",
        "predictions": "/api/predictions/",
        "prediction": f"/api/predictions/{ids['prediction']}/",
        "import": f"/api/projects/{ids['project']}/import",
    }[url_key]
    response = raw_post(api("owner"), url, body.replace("{task}", str(ids["task"])), method)
    assert_refused(response, 400, field=field)
    assert snapshot() == before


def test_a_lead_time_of_a_day_is_accepted(world, api):
    response = post_json(
        api("annotator"),
        f"/api/tasks/{world['free_task'].pk}/annotations/",
        {"result": choice("Neutral"), "lead_time": 86400},
    )
    assert response.status_code == 201, response.content
    assert response.json()["lead_time"] == 86400


HUGE_ID = 2**64  # beyond SQLite's integers: a parameter this large fails inside the driver


@pytest.mark.parametrize(
    "url",
    [f"/api/projects/{HUGE_ID}/", f"/api/tasks/{HUGE_ID}/", f"/api/annotations/{HUGE_ID}/", f"/api/predictions/{HUGE_ID}/",
     f"/api/drafts/{HUGE_ID}/", f"/api/tasks/{HUGE_ID}/annotations/", f"/api/labeling/projects/{HUGE_ID}"],
)  # fmt: skip
def test_path_ids_beyond_64_bits_answer_404(world, api, url):
    assert_refused(api("owner").get(url), 404, "not_found")


def test_query_and_body_ids_beyond_64_bits_answer_4xx(world, api, snapshot):
    before = snapshot()
    owner = api("owner")
    assert_refused(owner.get(f"/api/predictions/?task={HUGE_ID}"), 400, field="task")
    assert_refused(owner.get(f"/api/predictions/?project={HUGE_ID}"), 400, field="project")
    response = owner.get(f"/api/tasks/?project={HUGE_ID}")
    assert response.status_code == 404
    response = owner.get(f"/api/projects/{world['project'].pk}/export?ids={HUGE_ID}")
    assert_refused(response, 400, field="ids")
    assert_refused(
        post_json(owner, "/api/organizations/switch", {"organization": HUGE_ID}), 400, field="organization"
    )
    response = post_json(owner, f"/api/tasks/{world['free_task'].pk}/annotations/",
                         {"result": choice("Neutral"), "parent_prediction": HUGE_ID})  # fmt: skip
    assert_refused(response, 400, field="parent_prediction")
    response = post_json(owner, f"/api/projects/{world['project'].pk}/import/predictions",
                         [{"task": HUGE_ID, "result": []}])  # fmt: skip
    assert response.status_code == 400
    assert snapshot() == before


# --- ground truth is a manager's call ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotators_and_reviewers_may_not_set_ground_truth_on_create(world, api, snapshot, role):
    before = snapshot()
    response = post_json(
        api(role),
        f"/api/tasks/{world['free_task'].pk}/annotations/",
        {"result": choice("Neutral"), "ground_truth": True},
    )
    assert_refused(response, 403, "permission_denied", "ground_truth")
    assert snapshot() == before


def test_an_annotator_may_not_set_ground_truth_on_their_own_annotation(world, api, snapshot):
    before = snapshot()
    response = patch_json(
        api("annotator"), f"/api/annotations/{world['annotation'].pk}/", {"ground_truth": True}
    )
    assert_refused(response, 403, "permission_denied", "ground_truth")
    assert snapshot() == before


def test_an_annotator_may_repeat_ground_truth_false_and_edit_as_before(world, api):
    response = patch_json(
        api("annotator"),
        f"/api/annotations/{world['annotation'].pk}/",
        {"ground_truth": False, "result": choice("Neutral")},
    )
    assert response.status_code == 200, response.content
    response = post_json(
        api("annotator"),
        f"/api/tasks/{world['free_task'].pk}/annotations/",
        {"result": choice("Neutral"), "ground_truth": False},
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("role", ["manager", "admin", "owner"])
def test_managers_and_above_set_and_clear_ground_truth(world, api, role):
    response = post_json(
        api(role),
        f"/api/tasks/{world['free_task'].pk}/annotations/",
        {"result": choice("Neutral"), "ground_truth": True},
    )
    assert response.status_code == 201, response.content
    assert Annotation.objects.get(pk=response.json()["id"]).ground_truth is True
    response = patch_json(api(role), f"/api/annotations/{world['annotation'].pk}/", {"ground_truth": True})
    assert response.status_code == 200 and json_of(response)["ground_truth"] is True
    response = patch_json(api(role), f"/api/annotations/{world['annotation'].pk}/", {"ground_truth": False})
    assert response.status_code == 200 and json_of(response)["ground_truth"] is False


def test_an_annotator_may_not_clear_ground_truth_a_manager_set(world, api, snapshot):
    assert (
        patch_json(
            api("manager"), f"/api/annotations/{world['annotation'].pk}/", {"ground_truth": True}
        ).status_code
        == 200
    )
    before = snapshot()
    response = patch_json(
        api("annotator"), f"/api/annotations/{world['annotation'].pk}/", {"ground_truth": False}
    )
    assert_refused(response, 403, "permission_denied", "ground_truth")
    assert snapshot() == before


@pytest.mark.parametrize("data", [None, "text", ["text"], 1], ids=["missing", "string", "list", "number"])
def test_creating_a_task_without_a_data_object_names_the_data_field(world, api, snapshot, data):
    before = snapshot()
    body = {"project": world["project"].pk, **({} if data is None else {"data": data})}

    assert_refused(post_json(api("manager"), "/api/tasks/", body), 400, code="invalid_data", field="data")
    assert snapshot() == before
