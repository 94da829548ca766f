"""Fixes to the labeling page found by trying it: empty submits, configs the page cannot show, messages
that outlive their task, corrections that said nothing, required controls named by their heading, the
help listing only the keys that apply, dialogs that keep focus, readable label colours, a clean console
on an empty queue, a favicon, and instructions written in Markdown (rendered inert)."""

import re

import pytest

from annotation.models import Annotation, Draft
from tests.e2e.conftest import IMAGES, NER, SENTIMENT

pytestmark = pytest.mark.e2e

NEWS = [
    {"text": "Profit rose 12% on strong card spending."},
    {"text": "The meeting is scheduled for Tuesday."},
]


def notice(session) -> str:
    return session.page.locator(".notice").inner_text()


def focus_in_dialog(page) -> bool:
    return page.evaluate("() => document.activeElement?.closest('.overlay-panel') !== null")


def test_enter_with_nothing_chosen_is_refused_when_the_project_forbids_empty_answers(
    annotator, labeling_project
):
    project = labeling_project(SENTIMENT, NEWS, title="No empty answers", enable_empty_annotation=False)
    annotator.label(project)
    held = annotator.task_id()
    annotator.press("Enter")
    annotator.page.wait_for_selector(".notice.error")
    assert "Nothing is chosen yet" in notice(annotator) and "skip it (S)" in notice(annotator)
    assert annotator.task_id() == held
    assert not Annotation.objects.filter(project=project).exists()
    # With an answer the same key submits.
    annotator.press("1")
    annotator.submit()
    assert Annotation.objects.get(project=project).result[0]["value"] == {"choices": ["Positive"]}
    assert annotator.page.locator(".notice.error").count() == 0


def test_enter_with_nothing_chosen_submits_an_empty_answer_where_the_project_allows_it(
    annotator, labeling_project
):
    project = labeling_project(SENTIMENT, NEWS, title="Empty answers", enable_empty_annotation=True)
    annotator.label(project)
    held = annotator.task_id()
    annotator.submit()
    annotation = Annotation.objects.get(project=project)
    assert (annotation.task_id, annotation.result, annotation.was_cancelled) == (held, [], False)


UNSHOWABLE = """<View>
  <Text name="text" value="$text"/>
  <Audio name="audio" value="$audio"/>
  <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
</View>"""


def test_a_config_with_a_tag_the_page_cannot_show_cannot_be_submitted(annotator, labeling_project):
    project = labeling_project(
        UNSHOWABLE, [{"text": "Hello", "audio": "https://media.example.com/a.mp3"}], title="Audio"
    )
    annotator.label(project)
    page = annotator.page
    submit = page.locator(".toolbar button.primary")
    assert submit.is_disabled()
    text = page.locator(".notice.error").inner_text()
    assert "<audio>" in text and "cannot be submitted" in text
    annotator.press("1", "Enter")
    annotator.press("Control+Enter")
    page.wait_for_timeout(300)
    assert "<audio>" in page.locator(".notice.error").inner_text()
    assert not Annotation.objects.filter(project=project).exists()


def test_messages_of_the_previous_task_are_cleared_when_the_next_one_loads(annotator, labeling_project):
    project = labeling_project(SENTIMENT, [*NEWS, {"text": "Rates held."}], title="Messages")
    annotator.label(project)
    page = annotator.page
    annotator.press("u")
    assert notice(annotator) == "Nothing to undo."
    annotator.press("1")
    annotator.submit()
    assert notice(annotator) == ""
    # A draft of the task left behind that fails after the next task is on screen says nothing there.
    held_drafts = []
    page.route("**/api/tasks/*/drafts", lambda route: held_drafts.append(route))
    annotator.press("2")
    while not held_drafts:
        page.wait_for_timeout(100)
    annotator.submit()
    held_drafts[0].fulfill(
        status=500, content_type="application/json", body='{"error": {"code": "x", "message": "down"}}'
    )
    page.wait_for_timeout(500)
    assert notice(annotator) == ""
    assert Annotation.objects.filter(project=project).count() == 2


def test_a_correction_says_it_was_saved(annotator, labeling_project):
    project = labeling_project(SENTIMENT, NEWS, title="Corrections")
    annotator.label(project)
    first = project.tasks.get(pk=annotator.task_id())
    annotator.press("1")
    annotator.submit()
    annotator.press("e")
    annotator.page.wait_for_selector(".recent button")
    before = annotator.ready()
    annotator.press("Enter")
    annotator.wait_next(before)
    annotator.press("2")
    annotator.submit()
    assert notice(annotator) == f"Your correction of task #{first.inner_id} is saved."
    annotation = Annotation.objects.get(project=project)
    assert annotation.result[0]["value"] == {"choices": ["Negative"]}
    assert not Draft.objects.filter(task=first).exists()


HEADED = """<View>
  <Text name="text" value="$text"/>
  <Header value="Tone of the text"/>
  <Choices name="sentiment_v2" toName="text" required="true">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <Header value="How sure are you?"/>
  <Rating name="conf_1" toName="text" required="true"/>
</View>"""


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "Answer “Tone of the text”, “How sure are you?” before submitting: they are required."),
        ("ja-JP", "送信する前に 「Tone of the text」、「How sure are you?」 に回答してください"),
    ],
)
def test_required_messages_name_the_controls_by_their_heading(
    open_session, cast, labeling_project, locale, expected
):
    project = labeling_project(HEADED, NEWS, title="Headed")
    session = open_session(cast.users["annotator"].email, locale=locale)
    session.label(project)
    session.press("Control+Enter")
    text = session.page.locator(".notice.error").inner_text()
    assert expected in text
    assert "sentiment_v2" not in text and "conf_1" not in text
    assert session.page.locator(".notice.error").get_attribute("lang") == locale[:2]
    assert session.page.locator(".control.choices").get_attribute("aria-label") == "Tone of the text"


def test_a_configs_own_required_message_is_used_as_written(annotator, labeling_project):
    config = HEADED.replace('required="true"/>', 'required="true" requiredMessage="Say how sure you are."/>')
    config = config.replace(
        'name="sentiment_v2" toName="text" required="true"',
        'name="sentiment_v2" toName="text" required="true" requiredMessage="Pick a tone first."',
    )
    project = labeling_project(config, NEWS, title="Own messages")
    annotator.label(project)
    annotator.press("Control+Enter")
    assert annotator.page.locator(".notice.error").inner_text() == "Pick a tone first. Say how sure you are."
    assert not Annotation.objects.filter(project=project).exists()


def help_keys(session) -> set[str]:
    session.press("?")
    keys = session.page.eval_on_selector_all("tr[data-key]", "rows => rows.map(row => row.dataset.key)")
    session.press("Escape")
    return set(keys)


EVERYWHERE = {
    "keyTab", "keySubmit", "keyUndo", "keyClear", "keyEarlier", "keyHelp", "keyEscape", "keyNext",
    "keyTabPanel", "keyEarlierList",
}  # fmt: skip


def test_the_help_lists_the_keys_of_this_project_and_no_others(annotator, labeling_project):
    plain = labeling_project(SENTIMENT, NEWS, title="Plain", show_skip_button=False)
    annotator.label(plain)
    assert help_keys(annotator) == EVERYWHERE | {"keyNumbers"}

    spans = labeling_project(
        NER, NEWS, title="Spans", expert_instruction="Mark **every** company.", show_instruction=False
    )
    annotator.label(spans)
    assert help_keys(annotator) == EVERYWHERE | {
        "keyNumbers", "keyTextMove", "keySpanDelete", "keyTextEscape", "keySkip", "keySkipPresets",
        "keyInstructions",
    }  # fmt: skip

    shapes = labeling_project(IMAGES, [{"image": "/static/e2e/satellite.png"}], title="Shapes")
    annotator.label(shapes)
    assert help_keys(annotator) == EVERYWHERE | {
        "keyNumbers", "keyShapeCycle", "keyShapeMove", "keyShapeResize", "keyShapeDelete",
        "keyPolygonClose", "keySkip", "keySkipPresets",
    }  # fmt: skip
    # Each listed key does what the help says: here, S opens the skip panel.
    annotator.press("s")
    annotator.page.wait_for_selector("textarea.skip-reason")


def test_dialogs_keep_focus_inside_and_give_it_back_on_close(annotator, labeling_project):
    project = labeling_project(SENTIMENT, NEWS, title="Dialogs")
    annotator.label(project)
    page = annotator.page
    before = page.evaluate("() => document.activeElement.dataset.control")
    assert before == "sentiment"
    for opener in ("?", "s"):
        annotator.press(opener)
        page.wait_for_selector(".overlay-panel")
        assert focus_in_dialog(page)
        for key in ["Tab"] * 9 + ["Shift+Tab"] * 9:
            annotator.press(key)
            assert focus_in_dialog(page), (opener, key)
        # The page behind is inert: a click there reaches nothing.
        assert page.evaluate("() => document.getElementById('app').inert") is True
        annotator.press("Escape")
        assert page.locator(".overlay").count() == 0
        assert page.evaluate("() => document.activeElement.dataset.control") == before
        assert page.evaluate("() => document.getElementById('app').inert") is False


def rgb(css: str) -> tuple[float, ...]:
    channels = [float(part) for part in re.findall(r"[\d.]+", css)[:3]]
    return tuple(channels)


def contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    def luminance(colour):
        linear = [
            c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in colour
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


COLOURED = """<View>
  <Labels name="label" toName="text">
    <Label value="A" background="yellow"/><Label value="B" background="#ffff00"/>
    <Label value="C" background="navy"/><Label value="D" background="#777"/>
    <Label value="E" background="#00ff0080"/><Label value="F" background="#e6194b"/>
    <Label value="G"/><Label value="H" background="lightgray"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""


def test_text_on_every_label_colour_meets_wcag_aa(annotator, labeling_project):
    project = labeling_project(COLOURED, [{"text": "abcdefghijklmnop"}], title="Colours")
    annotator.label(project)
    for number in range(1, 9):
        annotator.press("Shift+ArrowRight", str(number), "ArrowRight")
    badges = annotator.page.eval_on_selector_all(
        ".text-body .badge",
        "nodes => nodes.map(node => [node.textContent, getComputedStyle(node).color, getComputedStyle(node).backgroundColor])",
    )
    assert sorted(label for label, _, _ in badges) == list("ABCDEFGH")
    for label, colour, background in badges:
        background_rgb = rgb(background)
        if background.startswith("rgba"):  # composited over the white paper, as the badge is seen
            alpha = float(re.findall(r"[\d.]+", background)[3])
            background_rgb = tuple(c * alpha + 255 * (1 - alpha) for c in background_rgb)
        assert contrast(rgb(colour), background_rgb) >= 4.5, (label, colour, background)
    # Dark text on light colours, light text on dark ones.
    by_label = {label: colour for label, colour, _ in badges}
    assert by_label["A"] == by_label["B"] == "rgb(0, 0, 0)"
    assert by_label["C"] == "rgb(255, 255, 255)"


def test_an_empty_queue_logs_no_console_error_and_the_favicon_is_served(annotator, labeling_project):
    project = labeling_project(SENTIMENT, [], title="Nothing to do")
    annotator.label(project)
    page = annotator.page
    assert page.locator(".done h2").inner_text() == "All done"
    page.wait_for_load_state("networkidle")
    assert annotator.console_errors == [] and annotator.errors == []
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and icon.endswith(".svg")
    response = page.request.get(f"{annotator.base_url}{icon}")
    assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")
    legacy = page.request.get(f"{annotator.base_url}/favicon.ico")
    assert legacy.status == 200 and legacy.url.endswith("favicon.svg")
    assert legacy.body() == response.body()


HOSTILE_MARKDOWN = """# Labeling guide

Mark **companies** and *people*; see [the style guide](https://example.com/guide "Guide").

- First rule with `code`
- Second rule &amp; more

<script>window.__xss = 'script'</script>

Inline <img src=x onerror="window.__xss = 'img'"> here.

[click me](javascript:window.__xss='link') and [data](data:text/html,<b>x</b>) and [api](/api/projects/)

<a href="https://example.com" onclick="window.__xss='a'">raw link</a>
"""


def test_markdown_instructions_render_sanitised(annotator, labeling_project):
    project = labeling_project(
        SENTIMENT, NEWS, title="Guide", expert_instruction=HOSTILE_MARKDOWN, show_instruction=True
    )
    annotator.label(project)  # the instructions open with the page
    page = annotator.page
    panel = page.locator(".instructions")
    panel.wait_for()
    assert panel.locator("h3").inner_text() == "Labeling guide"
    assert panel.locator("strong").inner_text() == "companies"
    assert panel.locator("em").inner_text() == "people"
    assert panel.locator("li").all_inner_texts() == ["First rule with code", "Second rule & more"]
    links = panel.locator("a").evaluate_all("nodes => nodes.map(node => [node.textContent, node.href])")
    assert links == [["the style guide", "https://example.com/guide"]]
    text = panel.inner_text()
    # Raw HTML shows as the text it is; unsafe links keep their words and lose their address.
    assert "<script>window.__xss = 'script'</script>" in text
    assert "<img src=x onerror=" in text and "click me" in text and "data" in text
    assert '<a href="https://example.com" onclick=' in text
    assert panel.locator("script, img, iframe").count() == 0
    handlers = panel.evaluate(
        "root => [root, ...root.querySelectorAll('*')].flatMap(node => [...node.attributes].map(a => a.name))"
        ".filter(name => name.startsWith('on') || name === 'style')"
    )
    assert handlers == []
    assert page.evaluate("() => window.__xss") is None and annotator.dialogs == []
    annotator.screenshot("instructions-markdown")
