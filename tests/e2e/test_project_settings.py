"""A project's Settings tab: fields saved by PATCH, instructions in Markdown previewed inert and shown
inert on the labeling page, a config change that would orphan results refused next to the editor,
deleting the project behind its typed title, who sees the tab, and the page in Japanese."""

import pytest

from annotation.models import Annotation, Project, Sampling
from annotation.services.annotations import annotation_create
from tests.conftest import choice
from tests.e2e.conftest import SENTIMENT
from tests.e2e.helpers.settings_page import open_settings, save

pytestmark = pytest.mark.e2e

NEWS = [{"text": "Profit rose 12% on strong card spending."}, {"text": "The meeting is on Tuesday."}]

HOSTILE = """# Guide

Label the **tone** of each sentence; see [the style guide](https://example.com/guide).

<script>window.__xss = 'script'</script>

Inline <img src=x onerror="window.__xss = 'img'"> here.

[x](javascript:window.__xss='link') and [y](data:text/html,<b>y</b>)
"""

# Drops "Neutral" and renames nothing else; "Positive" stays.
WITHOUT_NEUTRAL = SENTIMENT.replace('<Choice value="Neutral"/>', "")


def inert(page, root: str) -> None:
    """Nothing under ``root`` can run: no script, image, frame, handler attribute or unsafe link."""
    assert page.locator(f"{root} script, {root} img, {root} iframe").count() == 0
    attributes = page.locator(root).evaluate(
        "root => [...root.querySelectorAll('*')].flatMap(node => [...node.attributes].map(a => a.name + '=' + a.value))"
    )
    assert not [a for a in attributes if a.startswith("on") or a.startswith("style=")], attributes
    hrefs = page.locator(f"{root} a").evaluate_all("nodes => nodes.map(node => node.href)")
    assert all(href.startswith("https://") for href in hrefs), hrefs
    assert page.evaluate("() => window.__xss === undefined")


def test_manager_changes_overlap_sampling_and_markdown_instructions(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Tone")
    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    page = manager.page
    page.fill("#field-title", "Tone of the news")
    page.fill("#field-maximum_annotations", "3")
    page.select_option("#field-sampling", "Uniform sampling")
    page.uncheck("#field-show_skip_button")
    page.check("#field-enable_empty_annotation")
    page.check("#field-show_instruction")
    page.fill("#field-expert_instruction", HOSTILE)
    preview = page.locator("[data-preview=instructions]")
    preview.locator("h3", has_text="Guide").wait_for()
    assert preview.locator("strong").inner_text() == "tone"
    text = preview.inner_text()
    assert "<script>window.__xss = 'script'</script>" in text  # raw HTML shows as its text
    assert "<img src=x onerror=" in text
    inert(page, "[data-preview=instructions]")
    assert preview.locator("a").evaluate_all("nodes => nodes.map(n => n.href)") == [
        "https://example.com/guide"
    ]
    assert save(page) == "Saved."
    project.refresh_from_db()
    assert project.title == "Tone of the news"
    assert project.maximum_annotations == 3
    assert project.sampling == Sampling.UNIFORM
    assert (project.show_skip_button, project.enable_empty_annotation, project.show_instruction) == (
        False,
        True,
        True,
    )
    assert project.expert_instruction == HOSTILE
    # The header follows the new title; a second save with nothing changed says so.
    assert page.locator(".project-head h1").inner_text() == "Tone of the news"
    assert save(page) == "Nothing has changed."
    assert manager.errors == [] and manager.dialogs == []

    # The annotator's labeling page opens the instructions, inert as well.
    annotator = open_session(cast.users["annotator"].email)
    annotator.label(project)
    annotator.page.locator(".instructions").wait_for()
    assert "window.__xss = 'script'" in annotator.page.locator(".instructions").inner_text()
    inert(annotator.page, ".instructions")
    assert annotator.errors == [] and annotator.dialogs == []


def test_bad_values_are_refused_next_to_their_field(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Limits")
    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    page = manager.page
    page.fill("#field-maximum_annotations", "101")
    page.fill("#field-title", "   ")
    assert save(page) == "Not saved: fix the field marked below."
    assert "from 1 to 100" in page.locator("#error-maximum_annotations").inner_text()
    assert "1 to 250 characters" in page.locator("#error-title").inner_text()
    assert page.locator("#field-title").get_attribute("aria-invalid") == "true"
    # A config the server cannot parse: its message, next to the editor, from the check and the save.
    page.fill("#field-title", "Limits")
    page.fill("#field-maximum_annotations", "2")
    page.fill("#field-label_config", "<View><Choices name='x' toName='nowhere'>")
    page.get_by_role("button", name="Check the config").click()
    error = page.locator("#error-label_config")
    error.wait_for(state="visible")
    assert error.inner_text().startswith("Label config: ")
    assert save(page) == "Not saved: fix the field marked below."
    assert error.inner_text().startswith("Label config: ")
    project.refresh_from_db()
    assert (project.title, project.maximum_annotations, project.label_config) == ("Limits", 1, SENTIMENT)
    # A valid config checks out and names the data fields it reads.
    page.fill("#field-label_config", WITHOUT_NEUTRAL)
    page.get_by_role("button", name="Check the config").click()
    page.locator(".config-status[data-state=valid]").wait_for()
    assert "$text" in page.locator(".config-status").inner_text()
    assert error.inner_text() == ""
    assert manager.errors == []


def test_a_config_change_that_orphans_results_is_refused_and_names_the_label(
    open_session, labeling_project, cast
):
    project = labeling_project(SENTIMENT, NEWS, title="In use")
    task = project.tasks.order_by("inner_id").first()
    annotation_create(task=task, user=cast.users["annotator"], result=choice("Neutral"))
    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    page = manager.page
    page.fill("#field-label_config", WITHOUT_NEUTRAL)
    page.fill("#field-maximum_annotations", "2")
    assert save(page) == "Not saved: fix the field marked below."
    error = page.locator("#error-label_config")
    assert error.get_attribute("data-code") == "in_use"
    message = error.inner_text()
    assert "existing results still use what it removes" in message
    assert "Neutral" in message and '"sentiment"' in message
    assert page.evaluate("() => document.activeElement.id") == "field-label_config"
    project.refresh_from_db()
    # Nothing of the refused save was written, the overlap included.
    assert project.label_config == SENTIMENT and project.maximum_annotations == 1
    assert Annotation.objects.filter(project=project).count() == 1
    assert manager.errors == []


def test_delete_the_project_after_typing_its_title(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Old pilot")
    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    page = manager.page
    page.get_by_role("button", name="Delete this project").click()
    dialog = page.locator("dialog.confirm")
    dialog.wait_for()
    confirm = dialog.get_by_role("button", name="Delete the project")
    assert page.evaluate("() => document.activeElement.dataset.confirm") == "typed"
    page.keyboard.type("Old pilo")
    assert confirm.is_disabled()
    # Esc closes without deleting.
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert Project.objects.filter(pk=project.pk).exists()
    page.get_by_role("button", name="Delete this project").click()
    dialog.locator("input").fill("Old pilot")
    confirm.click()
    page.wait_for_url(f"{manager.base_url}/projects/")
    assert not Project.objects.filter(pk=project.pk).exists()
    assert manager.errors == []


def test_who_sees_the_settings_and_export_tabs(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Roles")
    annotator = open_session(cast.users["annotator"].email)
    response = annotator.page.goto(f"{annotator.base_url}/projects/{project.pk}/settings/")
    assert response is not None and response.status == 403
    assert "Not available to your role" in annotator.page.content()

    reviewer = open_session(cast.users["reviewer"].email)
    response = reviewer.page.goto(f"{reviewer.base_url}/projects/{project.pk}/export/")
    assert response is not None and response.status == 200
    tabs = reviewer.page.locator("nav.tabs a.tab")
    tabs.first.wait_for()
    names = tabs.all_inner_texts()
    assert "Export" in names and "Settings" not in names
    assert reviewer.page.goto(f"{reviewer.base_url}/projects/{project.pk}/settings/").status == 403

    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    assert {"Settings", "Export"} <= set(manager.page.locator("nav.tabs a.tab").all_inner_texts())


def test_settings_in_japanese_on_a_phone_in_dark(open_session, labeling_project, cast, browser, live_server):
    project = labeling_project(SENTIMENT, NEWS, title="日本語の設定")
    manager = open_session(cast.users["manager"].email, locale="ja-JP")
    page = manager.page
    page.set_viewport_size({"width": 390, "height": 800})
    page.emulate_media(color_scheme="dark")
    open_settings(manager, project)
    assert page.locator("nav.tabs a.tab[aria-current=page]").inner_text() == "設定"
    assert page.locator("label[for=field-maximum_annotations]").inner_text() == "重複数"
    assert page.locator("label[for=field-expert_instruction]").inner_text() == "作業手順"
    assert page.locator("#field-sampling option").all_inner_texts() == [
        "順番どおり（インポート順）",
        "ランダム",
        "不確かなものから（能動学習: 最新のモデルが最も迷っているタスクを先に）",
    ]
    assert page.get_by_role("button", name="変更を保存").is_visible()
    # Nothing wider than the phone.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.fill("#field-maximum_annotations", "0")
    page.get_by_role("button", name="変更を保存").click()
    page.locator("#error-maximum_annotations", has_text="重複数は1〜100の整数").wait_for()
    assert (
        page.locator(".save-bar .notice").inner_text()
        == "保存されていません。下の印の付いた項目を直してください。"
    )
    page.fill("#field-maximum_annotations", "2")
    page.get_by_role("button", name="変更を保存").click()
    page.locator(".save-bar .notice", has_text="保存しました。").wait_for()
    project.refresh_from_db()
    assert project.maximum_annotations == 2
    page.get_by_role("button", name="このプロジェクトを削除").click()
    assert page.locator("dialog.confirm h2").inner_text() == "「日本語の設定」を削除しますか?"
    assert manager.errors == []


RICH = """## Rules

1. First **rule** with `code`
2. Second rule &amp; more &#x1F600;

| label | when |
| --- | --- |
| Positive | good news |

> Quoted *note*

```
<b>not bold</b>
```

[ok](https://example.com/a) [api](/api/projects/) [mail](mailto:x@example.com) ![pic](data:image/png;base64,AAAA)
"""


def test_the_markdown_preview_keeps_structure_and_drops_unsafe_addresses(
    open_session, labeling_project, cast
):
    project = labeling_project(SENTIMENT, NEWS, title="Rich guide")
    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    page = manager.page
    page.fill("#field-expert_instruction", RICH)
    preview = page.locator("[data-preview=instructions]")
    preview.locator("h4", has_text="Rules").wait_for()
    assert preview.locator("ol > li").all_inner_texts() == ["First rule with code", "Second rule & more 😀"]
    assert preview.locator("ol li code").inner_text() == "code"
    assert preview.locator("table td").all_inner_texts() == ["Positive", "good news"]
    assert preview.locator("blockquote em").inner_text() == "note"
    assert preview.locator("pre code").inner_text() == "<b>not bold</b>"
    assert preview.locator("b").count() == 0
    # Only the http(s) link outside our API keeps its address; the others keep their words.
    assert preview.locator("a").evaluate_all("nodes => nodes.map(n => [n.textContent, n.href])") == [
        ["ok", "https://example.com/a"]
    ]
    assert "api" in preview.inner_text() and "mail" in preview.inner_text() and "pic" in preview.inner_text()
    inert(page, "[data-preview=instructions]")
    page.fill("#field-expert_instruction", "")
    preview.locator("text=Nothing to preview yet.").wait_for()
    assert manager.errors == []


def test_manager_sets_uncertainty_sampling_and_the_refit_interval(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Tone")
    manager = open_session(cast.users["manager"].email)
    open_settings(manager, project)
    page = manager.page
    page.select_option("#field-sampling", "Uncertainty sampling")
    page.fill("#field-prelabel_refit_every", "-3")
    assert save(page) == "Not saved: fix the field marked below."
    assert (
        page.locator("#error-prelabel_refit_every").inner_text() == "Enter a whole number from 0 to 1000000."
    )
    page.fill("#field-prelabel_refit_every", "0")
    assert save(page) == "Saved."
    project.refresh_from_db()
    assert (project.sampling, project.prelabel_refit_every) == (Sampling.UNCERTAINTY, 0)
    page.reload()
    page.locator("form.settings-form").wait_for()
    assert page.locator("#field-sampling").input_value() == "Uncertainty sampling"
    assert page.locator("#field-prelabel_refit_every").input_value() == "0"
