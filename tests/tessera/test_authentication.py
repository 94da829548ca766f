"""Token authentication as Label Studio and its SDK send it, and the error shape of a refusal."""

import pytest
from rest_framework.test import APIClient

from annotation.models import Project
from tessera.models import ApiToken

pytestmark = pytest.mark.django_db


def client_with(header: str | None) -> APIClient:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client


def assert_error_shape(body: dict, *, code: str) -> None:
    assert set(body) == {"error", "detail"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["detail"] == body["error"]["message"]


def test_token_header_as_label_studio_sends_it_authenticates(cast):
    response = client_with(f"Token {cast.tokens['manager']}").get("/api/current-user/whoami")
    assert response.status_code == 200
    assert response.json()["email"] == "manager@acme.test"
    assert response.json()["role"] == "manager"


def test_bearer_keyword_and_lower_case_keyword_also_authenticate(cast):
    for keyword in ("Bearer", "token"):
        response = client_with(f"{keyword} {cast.tokens['annotator']}").get("/api/current-user/whoami")
        assert response.status_code == 200, keyword
        assert response.json()["email"] == "annotator@acme.test"


def test_missing_token_answers_401_in_the_error_shape(cast):
    response = client_with(None).get("/api/projects/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert_error_shape(response.json(), code="not_authenticated")


@pytest.mark.parametrize(
    "header",
    [
        "Token not-a-real-token",
        "Token",
        "Token two parts",
        "Bearer 0000000000000000000000000000000000000000",
        "Token caf\u00e9",
        "Token " + "a" * 10_000,
    ],
)
def test_wrong_or_malformed_token_answers_401_in_the_error_shape(cast, header):
    response = client_with(header).get("/api/projects/")
    assert response.status_code == 401
    assert_error_shape(response.json(), code="authentication_failed")


def test_token_of_a_deactivated_user_answers_401(cast):
    user = cast.users["annotator"]
    user.is_active = False
    user.save()
    response = client_with(f"Token {cast.tokens['annotator']}").get("/api/projects/")
    assert response.status_code == 401
    assert_error_shape(response.json(), code="authentication_failed")


def test_a_deleted_token_stops_working(cast):
    ApiToken.objects.filter(user=cast.users["reviewer"]).delete()
    assert client_with(f"Token {cast.tokens['reviewer']}").get("/api/projects/").status_code == 401


def test_tokens_are_stored_only_as_a_digest(cast):
    key = cast.tokens["owner"]
    token = ApiToken.objects.get(user=cast.users["owner"])
    assert token.digest == ApiToken.digest_of(key)
    assert token.digest != key
    assert token.prefix == key[:8]
    stored = [
        str(value) for value in ApiToken.objects.values_list("digest", "prefix", "name").get(pk=token.pk)
    ]
    assert all(key not in value for value in stored)


def test_using_a_token_records_when_it_was_last_used(cast):
    token = ApiToken.objects.get(user=cast.users["manager"])
    assert token.last_used_at is None
    client_with(f"Token {cast.tokens['manager']}").get("/api/projects/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_member_of_no_organization_may_do_nothing(cast):
    user = cast.users["annotator"]
    user.memberships.all().delete()
    response = client_with(f"Token {cast.tokens['annotator']}").get("/api/projects/")
    assert response.status_code == 403
    assert_error_shape(response.json(), code="no_organization")


def test_browser_session_authenticates_reads(cast):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.users["annotator"])
    assert client.get("/api/current-user/whoami").json()["email"] == "annotator@acme.test"


def test_browser_session_write_without_a_csrf_token_is_refused(cast):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.users["manager"])
    response = client.post("/api/projects/", {"title": "Forged"}, format="json")
    assert response.status_code == 403
    assert_error_shape(response.json(), code="permission_denied")
    assert "CSRF" in response.json()["error"]["message"]
    assert not Project.objects.exists()


def test_token_requests_need_no_csrf_token(cast):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {cast.tokens['manager']}")
    assert client.post("/api/projects/", {"title": "Scripted"}, format="json").status_code == 201


def test_other_authorization_schemes_are_not_tokens(cast):
    response = client_with("Basic bWFuYWdlckBhY21lLnRlc3Q6Y29ycmVjdCBob3JzZSA0Mg==").get("/api/projects/")
    assert response.status_code == 401
    assert_error_shape(response.json(), code="not_authenticated")
