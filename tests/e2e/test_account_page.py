"""The account page: the user's API tokens (made with the key shown once, used against the API, then
revoked), who they are, and their language and theme."""

from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from tessera.models import ApiToken

pytestmark = pytest.mark.e2e


def token_rows(page) -> list[str]:
    return page.locator(".tokens tbody tr td:first-child").all_inner_texts()


def test_create_use_and_revoke_a_token(open_session, cast, live_server):
    user = cast.users["annotator"]
    session = open_session(user.email)
    page = session.page
    # The user menu's "API tokens" leads here.
    page.locator("details.usermenu summary").click()
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url(f"{session.base_url}/account/")
    page.locator(".tokens table").wait_for()
    assert page.locator("[data-field=email]").inner_text() == user.email
    assert page.locator("[data-field=role]").inner_text() == "annotator"
    assert len(token_rows(page)) == 1  # the cast's own token, unnamed
    page.get_by_label("Name (what the token is for)").fill("nightly export")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Create token").click()
    key_field = page.locator("#token-key")
    key_field.wait_for()
    key = key_field.input_value()
    assert page.evaluate("() => document.activeElement.id") == "token-key"
    page.locator(".tokens tbody tr", has_text="nightly export").wait_for()
    stored = ApiToken.objects.get(user=user, name="nightly export")
    assert key.startswith(stored.prefix) and stored.digest == ApiToken.digest_of(key)
    assert stored.expires_at is not None
    assert abs(stored.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=5)
    row = page.locator(".tokens tbody tr", has_text="nightly export")
    assert row.locator("code").inner_text() == f"{stored.prefix}…"
    assert row.locator("td").nth(3).inner_text() == "Not yet"
    page.get_by_role("button", name="Copy").click()
    page.locator(".copy-status", has_text="Copied.").wait_for()
    page.get_by_role("button", name="Done").click()
    assert page.locator("#token-key").count() == 0  # the key is not shown again

    headers = {"Authorization": f"Token {key}"}
    answer = httpx.get(f"{live_server.url}/api/current-user/whoami", headers=headers)
    assert answer.status_code == 200 and answer.json()["email"] == user.email

    page.reload()
    row = page.locator(".tokens tbody tr", has_text="nightly export")
    assert row.locator("td").nth(3).inner_text() != "Not yet"  # used just now
    # Cancel first: nothing is revoked.
    row.get_by_role("button", name="Revoke").click()
    dialog = page.locator("dialog.confirm")
    assert stored.prefix in dialog.inner_text()
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert ApiToken.objects.filter(pk=stored.pk).exists()
    row.get_by_role("button", name="Revoke").click()
    page.locator("dialog.confirm").get_by_role("button", name="Revoke").click()
    page.locator(".tokens-card .notice", has_text="The token was revoked.").wait_for()
    assert token_rows(page) == ["—"]
    assert not ApiToken.objects.filter(pk=stored.pk).exists()
    assert httpx.get(f"{live_server.url}/api/current-user/whoami", headers=headers).status_code == 401
    assert session.errors == []


def test_language_and_theme_from_the_account_page(open_session, cast):
    user = cast.users["reviewer"]
    session = open_session(user.email)
    page = session.page
    page.goto(f"{session.base_url}/account/")
    page.locator("#account-language").select_option("ja")
    page.locator("h1", has_text="アカウント").wait_for()
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator(".tokens-card h2").inner_text() == "API トークン"
    assert page.locator("label[for=account-theme]").inner_text() == "テーマ"
    page.locator("#account-theme").select_option("dark")
    page.locator("html[data-theme=dark]").wait_for()
    assert page.locator("#account-theme").input_value() == "dark"
    assert page.locator(".usermenu select[name=theme]").input_value() == "dark"  # the menu agrees
    user.refresh_from_db()
    assert (user.language, user.theme) == ("ja", "dark")
    # The token form names a refusal in the page: a name longer than the API takes.
    page.get_by_label("名前（トークンの用途）").evaluate("input => input.removeAttribute('maxlength')")
    page.get_by_label("名前（トークンの用途）").fill("x" * 101)
    page.get_by_role("button", name="トークンを作成").click()
    page.locator(".token-form .notice.error").wait_for()
    assert page.locator(".token-form .notice.error").inner_text() != ""
    assert ApiToken.objects.filter(user=user).count() == 1
    assert session.errors == []


def test_the_account_page_asks_a_stranger_to_sign_in(open_session, live_server):
    session = open_session()
    session.page.goto(f"{live_server.url}/account/")
    session.page.wait_for_url("**/login/?next=/account/")
