"""API errors speak the caller's language: the signed-in user's own choice (User.language), else the
browser's Accept-Language, else English. Only the message changes; the code and field stay the same, so
clients that branch on them work in every language."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import post_json

pytestmark = pytest.mark.django_db


def signed_in(cast, *, language: str) -> APIClient:
    user = cast.users["manager"]
    user.language = language
    user.save(update_fields=["language"])
    client = APIClient()
    client.force_login(user)
    return client


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return response.json()["error"]


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (
            "ja",
            "不明な exportType です ('NOPE')。JSON, JSON_MIN, CSV, TSV, CONLL2003, COCO, YOLO, YOLO_OBB, VOC のいずれかを使ってください。",
        ),
        ("en", "Unknown exportType 'NOPE'; use one of JSON, JSON_MIN, CSV, TSV, CONLL2003, COCO, YOLO, YOLO_OBB, VOC."),
        ("", "Unknown exportType 'NOPE'; use one of JSON, JSON_MIN, CSV, TSV, CONLL2003, COCO, YOLO, YOLO_OBB, VOC."),
    ],
)
def test_an_api_error_answers_in_the_users_language(cast, make_project, language, message):
    project = make_project()
    error = error_of(
        signed_in(cast, language=language).get(f"/api/projects/{project.pk}/export?exportType=NOPE"), 400
    )
    assert (error["code"], error["field"]) == ("unsupported_format", "exportType")
    assert error["message"] == message


def test_messages_with_placeholders_plurals_and_defaults_are_translated(cast, make_project):
    client = signed_in(cast, language="ja")
    project = make_project(tasks=[{"text": "Rates rise."}])
    # A placeholder filled at raise time.
    error = error_of(client.get(f'/api/tasks/?project={project.pk}&ordering=["nope"]'), 400)
    assert "では並べ替えできません" in error["message"] and "'nope'" in error["message"]
    # NotFound's default message, and a service's own.
    error = error_of(client.get("/api/tasks/987654321/"), 404)
    assert error["code"] == "not_found" and error["message"].endswith("見つかりません。")
    # A plural (ngettext): an unknown tag in the label config.
    error = error_of(
        post_json(client, "/api/projects/validate/", {"label_config": "<View><Nope/></View>"}), 400
    )
    assert (error["code"], error["field"]) == ("unknown_tag", "label_config")
    assert error["message"] == "ラベル設定が不正です: 不明なタグ Nope。"


def test_a_token_client_follows_accept_language_and_garbage_falls_back_to_english(api, make_project):
    project = make_project()
    url = f"/api/projects/{project.pk}/export?exportType=NOPE"
    japanese = error_of(api("manager").get(url, HTTP_ACCEPT_LANGUAGE="ja,en;q=0.5"), 400)
    assert japanese["message"].startswith("不明な exportType です") and japanese["field"] == "exportType"
    for header in ("xx-garbage;;q=nope", "en-US"):
        english = error_of(api("manager").get(url, HTTP_ACCEPT_LANGUAGE=header), 400)
        assert english["message"].startswith("Unknown exportType 'NOPE'")
        assert (english["code"], english["field"]) == (japanese["code"], japanese["field"])
