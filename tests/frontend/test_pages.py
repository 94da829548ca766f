"""The manager's page shells: which URLs exist for which role, the styled error pages, and the
user menu's language and theme (issue 8: navigation, languages, look and feel)."""

import json

import pytest
from django.test import Client

from tessera.models import User


def signed_in(cast, key: str, **headers) -> Client:
    client = Client(**headers)
    client.force_login(cast.users[key])
    return client


def app_settings(response) -> dict:
    page = response.content.decode()
    start = page.index('id="tessera-settings" type="application/json">') + len(
        'id="tessera-settings" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


@pytest.mark.parametrize(
    ("key", "tab", "status"),
    [
        ("manager", "data", 200),
        ("manager", "settings", 200),
        ("manager", "import", 200),
        ("reviewer", "data", 200),
        ("reviewer", "export", 200),
        ("reviewer", "settings", 403),
        ("reviewer", "import", 403),
        ("annotator", "data", 403),
        ("annotator", "settings", 403),
        ("manager", "review", 200),
        ("manager", "dashboard", 200),
        ("reviewer", "review", 200),
        ("reviewer", "dashboard", 200),
        ("annotator", "review", 403),
        ("annotator", "dashboard", 403),
        ("manager", "models", 200),
        ("reviewer", "models", 403),
        ("annotator", "models", 403),
        ("manager", "datasets", 200),
        ("reviewer", "datasets", 200),
        ("annotator", "datasets", 403),
        ("manager", "training", 200),
        ("reviewer", "training", 200),
        ("annotator", "training", 403),
    ],
)
def test_project_tabs_are_served_by_role(cast, make_project, key, tab, status):
    project = make_project()
    response = signed_in(cast, key).get(f"/projects/{project.pk}/{tab}/")
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    if status == 200:
        settings = app_settings(response)
        assert settings["page"] == "project" and settings["tab"] == tab and settings["project"] == project.pk
        assert settings["role"] == cast.org.memberships.get(user=cast.users[key]).role
    else:
        assert "tessera-settings" not in response.content.decode()
        assert "Not available to your role" in response.content.decode()
        if tab in ("review", "dashboard"):
            assert "for reviewers and project managers" in response.content.decode()


@pytest.mark.parametrize("tab", ["review", "dashboard"])
def test_quality_tabs_of_another_organization_are_a_styled_404(cast, make_project, tab):
    theirs = make_project(org=cast.other_org)
    response = signed_in(cast, "owner").get(f"/projects/{theirs.pk}/{tab}/")
    assert response.status_code == 404
    assert "Project not found" in response.content.decode()


def test_a_project_of_another_organization_is_a_styled_404_on_every_tab(cast, make_project):
    theirs = make_project(org=cast.other_org)
    client = signed_in(cast, "owner")
    for path in (f"/projects/{theirs.pk}/", f"/projects/{theirs.pk}/data/", f"/projects/{theirs.pk}/label/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Project not found" in response.content.decode()
        assert "tessera-settings" not in response.content.decode()


def test_project_home_redirects_by_role(cast, make_project):
    project = make_project()
    assert (
        signed_in(cast, "manager").get(f"/projects/{project.pk}/")["Location"]
        == f"/projects/{project.pk}/data/"
    )
    assert (
        signed_in(cast, "annotator").get(f"/projects/{project.pk}/")["Location"]
        == f"/projects/{project.pk}/label/"
    )


def test_unknown_pages_are_a_styled_html_404_and_the_api_keeps_json(cast):
    client = signed_in(cast, "manager")
    for path in ("/no/such/page/", "/projects/1/nope/", "/projects/abc/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"].startswith("text/html")
        assert (
            "Page not found" in response.content.decode() or "Project not found" in response.content.decode()
        )
        assert "{" not in response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    anonymous = Client().get("/no/such/page/")
    assert anonymous.status_code == 404 and anonymous["Content-Type"].startswith("text/html")
    api = client.get("/api/no-such-endpoint/")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_manager_only_pages_refuse_lower_roles(cast):
    assert signed_in(cast, "manager").get("/projects/new/").status_code == 200
    assert signed_in(cast, "annotator").get("/projects/new/").status_code == 403
    assert signed_in(cast, "reviewer").get("/members/").status_code == 403
    assert signed_in(cast, "annotator").get("/account/").status_code == 200


def test_top_bar_shows_members_only_to_managers(cast):
    assert 'data-nav="members"' in signed_in(cast, "admin").get("/projects/").content.decode()
    assert 'data-nav="members"' not in signed_in(cast, "annotator").get("/projects/").content.decode()


@pytest.mark.parametrize(
    ("accept", "cookie", "expected"),
    [
        ("ja,en;q=0.8", None, "ja"),
        ("ja-JP", None, "ja"),
        ("en-US,en;q=0.9", None, "en"),
        ("fr-FR,de;q=0.5", None, "en"),
        ("\x00garbage;;;q=x", None, "en"),
        ("ja", "xx-garbage", "ja"),
        ("en", "ja", "ja"),
        ("ja", "<script>", "ja"),
    ],
)
def test_language_follows_cookie_then_browser_and_garbage_falls_back(accept, cookie, expected):
    client = Client(HTTP_ACCEPT_LANGUAGE=accept)
    if cookie is not None:
        client.cookies["django_language"] = cookie
    response = client.get("/login/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<html lang="{expected}"' in page
    assert ("サインイン" in page) == (expected == "ja")


def test_the_users_own_language_and_theme_win_and_follow_them(cast):
    client = signed_in(cast, "annotator", HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/preferences/", {"language": "ja", "theme": "dark", "next": "/projects/"})
    assert response.status_code == 302 and response["Location"] == "/projects/"
    user = User.objects.get(pk=cast.users["annotator"].pk)
    assert (user.language, user.theme) == ("ja", "dark")
    # Another browser (no cookie, English Accept-Language) still gets the user's choice.
    other = signed_in(cast, "annotator", HTTP_ACCEPT_LANGUAGE="en")
    page = other.get("/projects/").content.decode()
    assert '<html lang="ja" data-theme="dark">' in page
    assert "プロジェクト" in page
    # Back to following the browser.
    client.post("/preferences/", {"language": "", "theme": "", "next": "/projects/"})
    page = other.get("/projects/").content.decode()
    assert '<html lang="en">' in page


def test_preferences_refuse_bad_values_and_foreign_redirects(cast):
    client = signed_in(cast, "annotator")
    response = client.post(
        "/preferences/", {"language": "klingon", "theme": "neon", "next": "https://evil.test/"}
    )
    assert response.status_code == 302 and response["Location"] == "/projects/"
    user = User.objects.get(pk=cast.users["annotator"].pk)
    assert (user.language, user.theme) == ("", "")
    assert Client().post("/preferences/", {"language": "ja"}).status_code == 302  # to the sign-in page
    assert Client().post("/preferences/", {"language": "ja"})["Location"].startswith("/login/")
