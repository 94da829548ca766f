"""Label Studio's per-option hotkeys (``hotkey`` on Choice and Label): they pick their option from
anywhere on the page, win over the number keys, and show on the buttons and in the help overlay."""

import pytest

from annotation.models import Annotation

pytestmark = pytest.mark.e2e

HOTKEYS = """<View>
  <Labels name="label" toName="text">
    <Label value="ORG" hotkey="g"/><Label value="LOC" hotkey="l"/><Label value="PER"/>
  </Labels>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive" hotkey="p"/><Choice value="Negative" hotkey="1"/><Choice value="Neutral"/>
  </Choices>
</View>"""

TEXT = "Acme cut jobs in Ohio."


def test_hotkeys_pick_labels_and_choices_before_number_keys(annotator, labeling_project):
    project = labeling_project(HOTKEYS, [{"text": TEXT}, {"text": "Rates held."}], title="Hotkeys")
    annotator.label(project)
    page = annotator.page
    # Buttons show the configured key; an option without one keeps its number.
    assert page.locator(".label-button kbd").all_inner_texts() == ["G", "L", "3"]
    assert page.locator(".choice kbd").all_inner_texts() == ["P", "1", "3"]
    # Focus is in the text: "g" and "l" label the selection, as 1 and 2 would.
    annotator.press(*["Shift+ArrowRight"] * 4, "g")  # Acme -> ORG
    annotator.press(*["ArrowRight"] * 13, *["Shift+ArrowRight"] * 4, "l")  # Ohio -> LOC
    # "1" is Negative's hotkey: it picks the choice, not the text's first label.
    annotator.press("Home", *["Shift+ArrowRight"] * 4, "1")
    assert page.locator(".choice.active").inner_text().endswith("Negative")
    assert page.locator(".text-body .badge").count() == 2
    annotator.press("Escape", "3")  # PER has no hotkey: 3 is still the text's third label
    assert page.locator(".label-button.active").inner_text().endswith("PER")
    annotator.press("?")
    help_text = page.locator(".overlay-panel").inner_text()
    assert "This project's keys" in help_text
    keys = page.locator(".project-keys tr")
    assert [keys.nth(i).inner_text().split("\t") for i in range(keys.count())] == [
        ["G", "label: ORG"],
        ["L", "label: LOC"],
        ["P", "sentiment: Positive"],
        ["1", "sentiment: Negative"],
    ]
    annotator.screenshot("hotkeys-help")
    annotator.press("Escape")
    annotator.submit()
    annotator.press("p")  # from the text, straight to the choice
    annotator.submit()
    first, second = Annotation.objects.filter(project=project).order_by("task__inner_id")
    spans = sorted(
        (r["value"]["start"], r["value"]["end"], r["value"]["labels"])
        for r in first.result
        if r["type"] == "labels"
    )
    assert spans == [(0, 4, ["ORG"]), (17, 21, ["LOC"])]
    assert [r["value"] for r in first.result if r["type"] == "choices"] == [{"choices": ["Negative"]}]
    assert [r["value"] for r in second.result] == [{"choices": ["Positive"]}]
    assert annotator.errors == []


def test_hotkeys_type_as_letters_in_a_text_box(annotator, labeling_project):
    config = HOTKEYS.replace("</View>", '<TextArea name="comment" toName="text" rows="1"/></View>')
    project = labeling_project(config, [{"text": TEXT}], title="Hotkeys and typing")
    annotator.label(project)
    page = annotator.page
    page.locator("textarea.answer").click()
    page.keyboard.type("plan 1")  # "p", "l" and "1" are hotkeys outside the box
    assert page.locator(".choice.active, .label-button.active").count() == 0
    annotator.submit()
    assert [r["value"] for r in Annotation.objects.get(project=project).result] == [{"text": ["plan 1"]}]
