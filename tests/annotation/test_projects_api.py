import pytest

from annotation.models import Project
from tessera.models import AuditEvent
from tests.conftest import SENTIMENT_CONFIG, patch_json, post_json

pytestmark = pytest.mark.django_db


def test_manager_creates_project_with_parsed_config(api):
    response = post_json(
        api("manager"), "/api/projects/", {"title": "FinGPT sentiment", "label_config": SENTIMENT_CONFIG}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["parsed_label_config"]["sentiment"]["labels"] == ["Positive", "Negative", "Neutral"]
    assert body["data_variables"] == ["text"]
    assert AuditEvent.objects.filter(action="project.create", object_id=body["id"]).exists()


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotator_and_reviewer_cannot_create_projects(api, role):
    response = post_json(api(role), "/api/projects/", {"title": "x", "label_config": SENTIMENT_CONFIG})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_too_low"
    assert not Project.objects.exists()


@pytest.mark.parametrize(
    ("config", "code", "words"),
    [
        ('<View><Text name="text" value="$text"/><Foo name="x" toName="text"/></View>', "unknown_tag", "Foo"),
        ('<View><Text name="text" value="$text"/><Choices name="c" toName="nope"><Choice value="A"/></Choices></View>',
         "invalid", "nope"),
        ('<View><Text name="text" value="text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>',
         "missing_variable", 'value="text"'),
        ("<View><Text name=", "invalid", "Invalid label config"),
        ("", "required", "empty"),
    ],
)  # fmt: skip
def test_bad_label_config_answers_400_saying_why(api, config, code, words):
    response = post_json(api("manager"), "/api/projects/", {"title": "x", "label_config": config})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["field"] == "label_config"
    assert error["code"] == code
    assert words in error["message"]
    assert not Project.objects.exists()


def test_label_config_over_the_size_limit_is_refused(api, settings):
    settings.TESSERA_MAX_LABEL_CONFIG_BYTES = 100
    response = post_json(api("manager"), "/api/projects/", {"title": "x", "label_config": SENTIMENT_CONFIG})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_large"


def test_project_list_is_paged_and_scoped_to_the_organization(api, make_project, cast):
    make_project()
    make_project(org=cast.other_org)
    response = api("annotator").get("/api/projects/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    assert [p["title"] for p in body["results"]] == ["Sentiment"]


def test_outsider_gets_404_for_another_organizations_project(api, make_project):
    project = make_project()
    for method in ("get", "patch", "delete"):
        response = getattr(api("outsider"), method)(f"/api/projects/{project.pk}/", format="json")
        assert response.status_code == 404, method
    assert Project.objects.filter(pk=project.pk).exists()


def test_reviewer_cannot_delete_project(api, make_project):
    project = make_project()
    assert api("reviewer").delete(f"/api/projects/{project.pk}/").status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()


def test_changing_overlap_recomputes_labeled_state(api, make_project, cast):
    from tests.conftest import choice

    project = make_project(tasks=[{"data": {"text": "a"}, "annotations": [{"result": choice("Positive")}]}])
    assert project.tasks.get().is_labeled
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {"maximum_annotations": 2})
    assert response.status_code == 200
    assert not project.tasks.get().is_labeled


def test_missing_or_wrong_token_answers_401(api):
    assert api(None).get("/api/projects/").status_code in (401, 403)
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/projects/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_config_that_drops_a_label_still_in_use_is_refused(api, make_project, snapshot):
    from tests.conftest import choice

    project = make_project(tasks=[{"data": {"text": "a"}, "annotations": [{"result": choice("Neutral")}]}])
    before = snapshot()
    response = patch_json(
        api("manager"),
        f"/api/projects/{project.pk}/",
        {"label_config": SENTIMENT_CONFIG.replace('<Choice value="Neutral"/>', "")},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("label_config", "in_use")
    assert "Neutral" in error["message"]
    assert snapshot() == before


def test_a_config_that_drops_a_control_still_used_by_predictions_is_refused(api, make_project):
    from tests.conftest import choice

    project = make_project(tasks=[{"data": {"text": "a"}, "predictions": [{"result": choice("Positive")}]}])
    config = '<View><Text name="text" value="$text"/><Labels name="ent" toName="text"><Label value="ORG"/></Labels></View>'
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {"label_config": config})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "in_use")
    assert "sentiment" in response.json()["error"]["message"]


def test_a_config_may_drop_labels_no_one_used_and_add_new_ones(api, make_project):
    from tests.conftest import choice

    project = make_project(tasks=[{"data": {"text": "a"}, "annotations": [{"result": choice("Positive")}]}])
    config = SENTIMENT_CONFIG.replace('<Choice value="Neutral"/>', '<Choice value="Mixed"/>')
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {"label_config": config})
    assert response.status_code == 200
    assert response.json()["parsed_label_config"]["sentiment"]["labels"] == ["Positive", "Negative", "Mixed"]


def test_a_project_created_without_a_config_can_be_given_one(api):
    project_id = post_json(api("manager"), "/api/projects/", {"title": "Later"}).json()["id"]
    response = patch_json(api("manager"), f"/api/projects/{project_id}/", {"label_config": SENTIMENT_CONFIG})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"), [("color", "#" + "F" * 40), ("title", "T" * 251), ("title", "   ")]
)
def test_project_text_fields_longer_than_their_columns_are_refused(api, make_project, snapshot, field, value):
    project = make_project()
    before = snapshot()
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {field: value})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert snapshot() == before
