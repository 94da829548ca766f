"""Every user-facing page in English and Japanese, light and dark: it renders its own content, in
that language, with no script error, and no raw JSON or stack trace reaches the page.

With TESSERA_SCREENSHOT_DIR set (docs/screenshots to refresh the documentation), each variant is
saved as <page>-<language>-<theme>.png.
"""

import os
import re
from pathlib import Path

import pytest

from tests.conftest import NER_CONFIG

SCREENSHOTS = os.environ.get("TESSERA_SCREENSHOT_DIR", "")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")

# (name, path template, a selector that shows the page's own content is drawn)
PAGES = [
    ("projects", "/projects/", ".project-card"),
    ("data", "/projects/{project}/data/", "table.tasks"),
    ("review", "/projects/{project}/review/", ".tab-body .review-main > :not(.hint)"),
    ("dashboard", "/projects/{project}/dashboard/", ".dashboard[data-state=ready]"),
    ("label", "/projects/{project}/label/", "body[data-ready]"),
    ("new-project", "/projects/new/", ".tab-body, main#app form, main#app h1"),
    ("import", "/projects/{project}/import/", ".tab-body > *"),
    ("settings", "/projects/{project}/settings/", ".tab-body form, .tab-body > *"),
    ("project-members", "/projects/{project}/members/", ".tab-body > *"),
    ("export", "/projects/{project}/export/", ".tab-body > *"),
    ("training", "/projects/{project}/training/", ".training-page .jobs[data-state=ready]"),
    ("members", "/members/", "main#app table, main#app > *"),
    ("account", "/account/", "main#app > *"),
    ("not-found", "/no/such/page/", "main.not-found h1"),
]


@pytest.mark.e2e
@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_renders_in_each_language_and_theme(open_session, cast, labeling_project, language, theme):
    project = labeling_project(
        NER_CONFIG,
        [
            {"text": "Acme Corp hired Jane Doe for $5 million."},
            {"text": "トヨタ自動車の豊田章男社長が発表した。"},
        ],
        title="News NER" if language == "en" else "ニュース固有表現",
    )
    session = open_session(cast.users["manager"].email, locale="ja-JP" if language == "ja" else "en-US")
    page = session.page
    page.emulate_media(color_scheme=theme)
    for name, template, selector in PAGES:
        response = page.goto(session.base_url + template.format(project=project.pk))
        assert response is not None
        page.wait_for_selector(selector, timeout=15_000)
        page.wait_for_load_state("networkidle")
        html_lang = page.evaluate("document.documentElement.lang")
        assert html_lang == language, name
        text = page.locator("body").inner_text()
        assert "Traceback" not in text and '{"error"' not in text and '"detail":' not in text, name
        if language == "ja":
            assert JAPANESE.search(page.locator("header.topbar").inner_text()), name
        background = page.evaluate(
            "getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor"
        )
        dark = page.evaluate(
            "() => { const c = getComputedStyle(document.documentElement).getPropertyValue('--back').trim(); return c; }"
        )
        assert (dark == "#12161d") == (theme == "dark"), (name, dark, background)
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}-{language}-{theme}.png"), full_page=True)
    assert session.errors == []
