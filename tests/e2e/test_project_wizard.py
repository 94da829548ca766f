"""The New project wizard: template, labels form and XML in step, a live preview by the labeling
page's own editor, the server's check beside the line it concerns, create, import, members."""

import json
import re
import time
from pathlib import Path

import pytest

from annotation.models import Project, Task
from tests.e2e.helpers.wizard import palette_labels, wait_valid, xml_text

pytestmark = pytest.mark.e2e

GALLERY = Path(__file__).resolve().parents[2] / "frontend" / "src" / "templates" / "gallery.json"
TEMPLATES = json.loads(GALLERY.read_text(encoding="utf-8"))["templates"]

TASKS_JSONL = "\n".join(
    json.dumps({"text": text}, ensure_ascii=False)
    for text in (
        "ソニーグループの吉田憲一郎会長は大阪で講演した。",
        "2023年、トヨタ自動車は愛知県に新工場を建てた。",
        "日本銀行の植田和男総裁は東京で会見した。",
    )
)


def run_wizard(session, cast, *, strings: dict) -> Project:
    page = session.page
    validations: list[tuple[float, str]] = []

    def record(request) -> None:
        if "/api/projects/validate" in request.url:
            validations.append((time.monotonic(), request.post_data or ""))

    page.on("request", record)
    page.locator("a", has_text=strings["new_project"]).first.click()
    page.wait_for_url("**/projects/new/")
    page.locator("h1", has_text=strings["new_project"]).wait_for()

    # 1: title and description; the title is required.
    page.locator("[data-action=next]").click()
    assert page.locator("#title-error").inner_text() == strings["title_required"]
    page.fill("#project-title", "決算ニュースの固有表現")
    page.fill("#project-description", "Entities in Japanese earnings news")
    page.locator("[data-action=next]").click()
    page.wait_for_url("**/projects/new/?step=template")

    # 2: the Japanese NER template.
    card = page.locator(".template-card[data-template=ner_ja]")
    assert strings["ner_ja_title"] in card.inner_text()
    card.click()
    assert card.get_attribute("aria-pressed") == "true"
    page.locator("[data-action=next]").click()
    page.wait_for_url("**/projects/new/?step=labels")
    wait_valid(page)
    assert palette_labels(page) == ["人名", "組織", "地名", "日付"]
    assert "2024年4月1日" in page.locator(".preview-card .text-body").inner_text()

    # 3: rename a label in the form: the XML and the preview follow.
    control = page.locator("fieldset.label-control[data-control=label]")
    control.locator("li.label-row").nth(0).locator(".label-name").fill("人物")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.preview-card .palette button')].some((b) => b.dataset.label === '人物')"
    )
    assert '<Label value="人物" background="#e6194b"/>' in xml_text(page)

    # Add one with a colour and a hotkey: a new button in the real editor's palette, with its key.
    control.locator(".add-label").click()
    new_row = control.locator("li.label-row").nth(4)
    assert new_row.locator(".label-name").evaluate("(input) => input === document.activeElement")
    new_row.locator(".label-name").fill("金額")
    new_row.locator(".label-colour").fill("#ff8800")
    new_row.locator(".label-hotkey").fill("m")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.preview-card .palette button')].some("
        "(b) => b.dataset.label === '金額' && b.querySelector('kbd')?.textContent === 'M')"
    )
    swatch = page.locator(".preview-card .palette button[data-label=金額] .swatch")
    assert swatch.evaluate("(node) => getComputedStyle(node).backgroundColor") == "rgb(255, 136, 0)"
    assert re.search(r'<Label value="金額" background="#ff8800" hotkey="m"/>', xml_text(page))

    # Reorder by keyboard: Alt+Up moves 金額 above 日付.
    new_row = control.locator("li.label-row").nth(4)
    new_row.locator(".label-name").focus()
    page.keyboard.press("Alt+ArrowUp")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.preview-card .palette button')].map((b) => b.dataset.label)"
        ".join(',') === '人物,組織,地名,金額,日付'"
    )
    wait_valid(page)
    good = xml_text(page)

    # The label is used in the preview: select text and label it with the new hotkey.
    text_body = page.locator(".preview-card .text-body")
    text_body.click()
    page.keyboard.press("End")
    page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.press("m")
    page.locator(".preview-card .region-list li").first.wait_for()
    assert "金額" in page.locator(".preview-card .region-list").inner_text()

    # 4: XML that is not well formed: the error is beside its line.
    lines = good.split("\n")
    broken = "\n".join(line.replace('<Label value="地名"', '<Label value="地名"<') for line in lines)
    broken_line = next(i for i, line in enumerate(lines, 1) if 'value="地名"' in line)
    page.fill("#xml-config", broken)
    note = page.locator(f".xml-note[data-line='{broken_line}']")
    note.wait_for()
    assert strings["syntax"] in note.inner_text()
    assert page.locator(f".xml-gutter span[data-line='{broken_line}']").get_attribute("class") == "has-error"
    assert page.locator(".labels-form .notice.error").is_visible()  # the form waits for well-formed XML

    # A toName that names nothing: beside the Labels line.
    unknown = good.replace('toName="text"', 'toName="txt"')
    to_name_line = next(i for i, line in enumerate(unknown.split("\n"), 1) if 'toName="txt"' in line)
    page.fill("#xml-config", unknown)
    note = page.locator(f".xml-note[data-line='{to_name_line}']")
    note.wait_for()
    assert strings["unknown_to_name"] in note.inner_text()
    assert page.locator(".xml-note").count() == 1

    # Fixed: valid again, no note.
    page.fill("#xml-config", good)
    wait_valid(page)
    assert page.locator(".xml-note").count() == 0
    assert len(palette_labels(page)) == 5

    # Checks went out debounced, one per resting text, never for the same text twice in a row.
    sent = [json.loads(body)["label_config"] for _, body in validations]
    assert all(a != b for a, b in zip(sent, sent[1:], strict=False))
    assert len(sent) <= 12
    gaps = [b - a for (a, _), (b, _) in zip(validations, validations[1:], strict=False)]
    assert min(gaps) >= 0.55, gaps

    # Back and forward keep what was entered.
    page.go_back()
    page.wait_for_url("**/projects/new/?step=template")
    assert page.locator(".template-card[data-template=ner_ja]").get_attribute("aria-pressed") == "true"
    page.go_back()
    page.wait_for_url(re.compile(r".*/projects/new/$"))
    assert page.locator("#project-title").input_value() == "決算ニュースの固有表現"
    page.go_forward()
    page.go_forward()
    page.wait_for_url("**/projects/new/?step=labels")
    assert xml_text(page) == good

    # Create: the project has the edited config.
    page.locator("[data-action=create]").click()
    page.wait_for_url(re.compile(r".*/projects/new/\?step=import&project=\d+$"))
    project = Project.objects.get(title="決算ニュースの固有表現")
    assert project.organization == cast.org
    assert project.description == "Entities in Japanese earnings news"
    assert project.label_config == good
    assert '<Label value="金額" background="#ff8800" hotkey="m"/>' in project.label_config
    assert '<Label value="人物"' in project.label_config and "人名" not in project.label_config

    # 5: import a pasted JSON Lines of 3 tasks.
    page.fill("#import-text", TASKS_JSONL)
    page.locator("[data-action=import-text]").click()
    page.locator(".import-result .notice.ok").wait_for()
    assert strings["imported"] in page.locator(".import-result").inner_text()
    assert sorted(Task.objects.filter(project=project).values_list("data__text", flat=True)) == sorted(
        json.loads(line)["text"] for line in TASKS_JSONL.split("\n")
    )
    # The first imported task, drawn by the labeling editor with the new labels.
    preview = page.locator(".import-preview")
    preview.locator(".palette button[data-label=金額]").wait_for()
    assert "ソニーグループ" in preview.locator(".text-body").inner_text()

    # A bad row is refused with its line named, and nothing of it is written.
    page.fill("#import-text", '{"text": "ok"}\n{"text": ')
    page.locator("[data-action=import-text]").click()
    page.locator(".import-result .notice.error").wait_for()
    assert "2" in page.locator(".import-result").inner_text()
    assert Task.objects.filter(project=project).count() == 3

    # 6: members.
    page.locator("[data-action=next]").click()
    page.wait_for_url(re.compile(r".*/projects/new/\?step=members&project=\d+$"))
    # The step renders after the URL changes: wait for its links before counting them.
    page.locator(".member-links a[href='/members/']").wait_for()
    assert page.locator(".member-links a[href='/members/']").count() == 1
    assert page.locator(f".member-links a[href='/projects/{project.pk}/members/']").count() == 1
    assert session.errors == []
    return project


def test_manager_creates_a_japanese_ner_project_with_edited_labels(open_session, cast):
    session = open_session(cast.users["manager"].email)
    run_wizard(
        session,
        cast,
        strings={
            "new_project": "New project",
            "title_required": "Give the project a title.",
            "ner_ja_title": "Named entities in Japanese",
            "syntax": "The XML is not well formed",
            "unknown_to_name": 'toName="txt" names no tag of this config.',
            "imported": "Imported 3 tasks",
        },
    )


def test_the_same_wizard_in_japanese(open_session, cast):
    session = open_session(cast.users["manager"].email, locale="ja-JP")
    assert session.page.locator("html").get_attribute("lang") == "ja"
    run_wizard(
        session,
        cast,
        strings={
            "new_project": "新規プロジェクト",
            "title_required": "プロジェクトのタイトルを入力してください。",
            "ner_ja_title": "日本語の固有表現抽出",
            "syntax": "XML の形式が正しくありません",
            "unknown_to_name": 'toName="txt" に一致する name のタグがこの設定にありません。',
            "imported": "3 件のタスクをインポートしました",
        },
    )
    assert session.page.locator("[data-action=next], .wizard-nav .button").first.is_visible()


def test_every_template_renders_in_the_preview(open_session, cast):
    session = open_session(cast.users["manager"].email)
    page = session.page
    page.goto(f"{session.base_url}/projects/new/")
    page.locator("#project-title").wait_for()
    page.fill("#project-title", "Gallery")
    page.locator("[data-action=next]").click()
    page.wait_for_url("**/projects/new/?step=template")
    # count() does not wait: the URL changes before the step draws its cards.
    page.locator(".template-card").first.wait_for()
    assert page.locator(".template-card").count() == len(TEMPLATES)
    for template in TEMPLATES:
        page.locator(f".template-card[data-template={template['id']}]").click()
        page.locator("[data-action=next]").click()
        page.wait_for_url("**/projects/new/?step=labels")
        wait_valid(page)
        editor = page.locator(".preview-card .editor")
        editor.wait_for()
        # The labeling page shows every tag of every template: no "does not support" notice.
        assert editor.locator(".notice.error").count() == 0, template["id"]
        assert page.locator(".preview-card .notice.error").count() == 0, template["id"]
        page.go_back()
        page.wait_for_url("**/projects/new/?step=template")
    # The image template's sample image loads from our own static files.
    page.locator(".template-card[data-template=image_regions]").click()
    page.locator("[data-action=next]").click()
    page.wait_for_function(
        "() => { const img = document.querySelector('.preview-card img'); return img && img.naturalWidth > 0; }"
    )
    assert session.errors == []


def test_labels_step_on_a_phone_in_dark(open_session, cast):
    session = open_session(cast.users["manager"].email)
    page = session.page
    page.set_viewport_size({"width": 390, "height": 800})
    page.emulate_media(color_scheme="dark")
    page.goto(f"{session.base_url}/projects/new/")
    page.locator("#project-title").wait_for()
    page.fill("#project-title", "Phone")
    page.keyboard.press("Enter")
    page.locator(".template-card[data-template=sentiment]").click()
    page.locator("[data-action=next]").click()
    wait_valid(page)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    background = page.locator(".xml-text").evaluate("(node) => getComputedStyle(node).backgroundColor")
    assert background == "rgb(27, 32, 41)"  # --paper in the dark theme
    # An error on a phone: the note is listed under the editor, still naming its line.
    page.fill("#xml-config", xml_text(page).replace('toName="text"', 'toName="nope"'))
    note = page.locator(".xml-note[data-line='3']")
    note.wait_for()
    assert "Line 3" in note.inner_text()
    assert session.errors == []


def test_lower_roles_cannot_open_the_wizard(open_session, cast):
    session = open_session(cast.users["annotator"].email)
    response = session.page.goto(f"{session.base_url}/projects/new/")
    assert response is not None and response.status == 403
    assert session.page.locator("a", has_text="New project").count() == 0


def test_manager_duplicates_the_config_of_another_project(open_session, cast, labeling_project, make_project):
    source = labeling_project(
        TEMPLATES[0]["config"], [{"text": "来期の見通しは明るい。"}], title="Source project"
    )
    make_project(org=cast.other_org)  # another organization's project is never offered
    session = open_session(cast.users["manager"].email)
    page = session.page
    page.goto(f"{session.base_url}/projects/new/")
    page.locator("#project-title").wait_for()
    page.fill("#project-title", "Copy")
    page.keyboard.press("Enter")
    select = page.locator("#copy-project")
    select.wait_for()
    assert select.locator("option").all_inner_texts()[1:] == ["Source project"]
    select.select_option(label="Source project")
    page.locator(".copy-config button").click()
    page.locator(".copy-config", has_text="is copied").wait_for()
    page.locator("[data-action=next]").click()
    wait_valid(page)
    assert xml_text(page) == source.label_config
    # The preview draws the copied project's first task.
    assert page.locator(".preview-card .text-body").inner_text().strip() == "来期の見通しは明るい。"
    assert session.errors == []
