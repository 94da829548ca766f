"""API tokens: listed without their keys, made with an optional expiry, revoked; Label Studio's
current-user/token and reset-token as label-studio-sdk calls them."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tessera.models import ApiToken, AuditEvent
from tessera.services import api_token_create, organization_get_or_create, user_upsert
from tests.compat.sdk_http import sdk_client

pytestmark = pytest.mark.django_db


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def post(client: APIClient, url: str, body) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_token_list_shows_the_callers_tokens_without_their_keys(api, cast):
    api_token_create(user=cast.users["annotator"], name="notebook")
    response = api("annotator").get("/api/tokens/")
    assert response.status_code == 200
    tokens = response.json()
    assert len(tokens) == 2
    assert all(
        set(token) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"} for token in tokens
    )
    assert tokens[0]["name"] == "notebook"
    assert cast.tokens["annotator"] not in response.content.decode()
    assert cast.tokens["annotator"][:8] in {token["prefix"] for token in tokens}


def test_a_token_made_through_the_api_shows_its_key_once_and_authenticates(api, cast):
    response = post(api("reviewer"), "/api/tokens/", {"name": "ci", "expires_in_days": 30})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "ci" and len(body["key"]) == 40
    expires_at = ApiToken.objects.get(pk=body["id"]).expires_at
    assert timedelta(days=29) < expires_at - timezone.now() <= timedelta(days=30)
    assert with_key(body["key"]).get("/api/current-user/whoami").json()["email"] == "reviewer@acme.test"
    assert "key" not in api("reviewer").get("/api/tokens/").json()[0]
    assert AuditEvent.objects.filter(action="token.create", object_id=body["id"]).exists()


@pytest.mark.parametrize(
    "body",
    [{"expires_in_days": 0}, {"expires_in_days": 100_000}, {"expires_in_days": "30"}, {"expires_in_days": True},
     {"expires_in_days": 1.5}, {"name": "x" * 101}, {"name": 7}, {"colour": "red"}, []],
)  # fmt: skip
def test_bad_token_requests_answer_400_and_make_nothing(api, cast, body):
    before = ApiToken.objects.count()
    response = post(api("manager"), "/api/tokens/", body)
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]) == {"code", "message", "field"}
    assert ApiToken.objects.count() == before


def test_an_expired_token_no_longer_authenticates(api, cast):
    key = post(api("annotator"), "/api/tokens/", {"expires_in_days": 1}).json()["key"]
    assert with_key(key).get("/api/projects/").status_code == 200
    ApiToken.objects.filter(digest=ApiToken.digest_of(key)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = with_key(key).get("/api/projects/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_revoked_token_no_longer_authenticates(api, cast):
    created = post(api("annotator"), "/api/tokens/", {"name": "laptop"}).json()
    response = api("annotator").delete(f"/api/tokens/{created['id']}/")
    assert response.status_code == 204
    assert with_key(created["key"]).get("/api/projects/").status_code == 401
    assert api("annotator").delete(f"/api/tokens/{created['id']}/").status_code == 404
    assert AuditEvent.objects.filter(action="token.revoke", object_id=created["id"]).exists()
    # The caller's other token keeps working.
    assert api("annotator").get("/api/projects/").status_code == 200


@pytest.mark.parametrize("owner", ["annotator2", "outsider"])
def test_another_users_token_is_not_found_whatever_their_organization(api, cast, owner):
    token = ApiToken.objects.get(user=cast.users[owner])
    response = api("owner").delete(f"/api/tokens/{token.pk}/")
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert token.pk not in {t["id"] for t in api("owner").get("/api/tokens/").json()}


def test_a_user_without_an_organization_may_not_manage_tokens(db):
    organization = organization_get_or_create(title="Gone")
    user, _ = user_upsert(email="left@acme.test", organization=organization, role="annotator")
    key = api_token_create(user=user)
    user.memberships.all().delete()
    user.active_organization = None
    user.save()
    client = with_key(key)
    before = ApiToken.objects.count()
    assert client.get("/api/tokens/").status_code == 403
    assert post(client, "/api/tokens/", {"name": "x"}).status_code == 403
    assert client.post("/api/current-user/reset-token/").status_code == 403
    assert ApiToken.objects.count() == before


def test_current_user_token_answers_the_key_that_signed_the_request(api, cast):
    response = api("manager").get("/api/current-user/token")
    assert response.status_code == 200
    assert response.json() == {"token": cast.tokens["manager"]}


def test_current_user_token_cannot_show_a_stored_key_to_a_browser_session(cast):
    client = APIClient()
    client.force_login(cast.users["manager"])
    response = client.get("/api/current-user/token")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "token_not_retrievable"


def test_reset_token_revokes_every_token_of_the_caller_and_answers_a_new_one(api, cast):
    api_token_create(user=cast.users["manager"], name="second")
    response = api("manager").post("/api/current-user/reset-token/")
    assert response.status_code == 201
    key = response.json()["token"]
    assert api("manager").get("/api/projects/").status_code == 401
    assert with_key(key).get("/api/current-user/whoami").json()["email"] == "manager@acme.test"
    assert ApiToken.objects.filter(user=cast.users["manager"]).count() == 1
    # Nobody else's tokens are touched.
    assert api("annotator").get("/api/projects/").status_code == 200


@pytest.mark.compat
@pytest.mark.django_db(transaction=True)
def test_label_studio_sdk_get_and_reset_token(cast, live_server):
    client, http = sdk_client(live_server.url, cast.tokens["reviewer"])
    try:
        assert client.users.get_token().token == cast.tokens["reviewer"]
        new_key = client.users.reset_token().token
    finally:
        http.close()
    assert new_key and new_key != cast.tokens["reviewer"]
    assert with_key(cast.tokens["reviewer"]).get("/api/projects/").status_code == 401
    assert with_key(new_key).get("/api/projects/").status_code == 200
