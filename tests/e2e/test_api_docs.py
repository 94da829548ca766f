"""/api/docs/ works in a real browser under its CSP: Swagger UI from our own origin, nothing refused."""

import pytest

pytestmark = pytest.mark.e2e


def test_swagger_ui_renders_the_schema_with_nothing_refused_by_the_csp(open_session, cast):
    session = open_session()
    refused: list[str] = []
    requests: list[str] = []
    session.page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    session.page.on("request", lambda request: requests.append(request.url))
    session.page.goto(f"{session.base_url}/api/docs/")
    session.page.wait_for_selector(".opblock-tag-section", timeout=20_000)
    assert session.page.locator(".opblock").count() > 10
    assert refused == [], refused
    assert session.errors == []
    assert all(url.startswith(session.base_url) or url.startswith("data:") for url in requests), requests
