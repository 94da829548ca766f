"""Per-region Choices, Rating and TextArea (perRegion="true"): the answer belongs to the selected span,
shape or labeled turn. As Label Studio stores it, the answer's result has the region's id and repeats
the region's geometry (offsets, box, points) next to its own value."""

import pytest

from annotation.models import Annotation
from tests.e2e.test_image_keyboard import PRELABEL

pytestmark = pytest.mark.e2e

SPANS = """<View>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels>
  <Text name="text" value="$text"/>
  <Choices name="certainty" toName="text" perRegion="true" choice="single">
    <Choice value="Sure"/><Choice value="Unsure"/>
  </Choices>
  <TextArea name="note" toName="text" perRegion="true" rows="1" placeholder="Note on this span"/>
</View>"""

SHAPES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Cloud"/><Label value="Coast"/></RectangleLabels>
  <PolygonLabels name="area" toName="image"><Label value="Storm"/></PolygonLabels>
  <Choices name="density" toName="image" perRegion="true"><Choice value="Thin"/><Choice value="Dense"/></Choices>
  <Rating name="confidence" toName="image" perRegion="true" maxRating="3"/>
</View>"""

TURNS = """<View>
  <ParagraphLabels name="intent" toName="dialogue">
    <Label value="Greeting"/><Label value="Request"/><Label value="Answer"/><Label value="Complaint"/>
  </ParagraphLabels>
  <Paragraphs name="dialogue" value="$dialogue" nameKey="author" textKey="text"/>
  <Choices name="tone" toName="dialogue" perRegion="true"><Choice value="Polite"/><Choice value="Rude"/></Choices>
</View>"""

JAPANESE = "トヨタの豊田章男社長が話した。"


def by_control(annotation) -> dict:
    """``{from_name: {region id: value}}`` of a stored result."""
    found: dict = {}
    for region in annotation.result:
        found.setdefault(region["from_name"], {})[region["id"]] = region["value"]
    return found


def focused_control(page) -> str | None:
    return page.evaluate("() => document.activeElement.closest('[data-control]')?.dataset.control ?? null")


def test_per_region_choices_and_text_on_japanese_spans(annotator, labeling_project):
    project = labeling_project(SPANS, [{"text": JAPANESE}], title="Spans with per-region answers")
    annotator.label(project)
    page = annotator.page
    certainty = page.locator(".control.per-region.choices")
    assert "Select a region" in certainty.inner_text() and "idle" in certainty.get_attribute("class")
    annotator.press(*["Shift+ArrowRight"] * 3, "1")  # トヨタ -> ORG, the span per-region controls answer for
    assert "For the selected span: ORG “トヨタ”" in certainty.inner_text()
    annotator.press("Enter")  # on to the controls that answer for it
    assert focused_control(page) == "certainty"
    annotator.press("1", "Tab")
    page.keyboard.type("brand name")
    annotator.press("Escape")  # back to the text
    annotator.press(
        "ArrowRight", *["Shift+ArrowRight"] * 4, "2", "Enter", "2", "Escape"
    )  # 豊田章男 -> PER, Unsure
    # A third span, answered, then deleted: its answers go with it.
    annotator.press("End", *["ArrowLeft"] * 4, "Shift+ArrowRight", "1", "Enter", "1", "Escape")
    assert page.locator(".region-list li").count() == 3
    page.locator(".region-list li", has_text="話").click()
    annotator.press("Delete")
    # Selecting the first span again shows its answers.
    page.locator(".region-list li", has_text="トヨタ").click()
    assert certainty.locator(".choice.active").inner_text().endswith("Sure")
    assert page.locator(".per-region textarea").input_value() == "brand name"
    annotator.screenshot("per-region-spans")
    annotator.submit()
    annotation = Annotation.objects.get(project=project)
    spans = {r["value"]["text"]: r["id"] for r in annotation.result if r["type"] == "labels"}
    assert sorted(spans) == ["トヨタ", "豊田章男"]
    toyota, toyoda = spans["トヨタ"], spans["豊田章男"]
    controls = by_control(annotation)
    assert controls["certainty"] == {
        toyota: {"start": 0, "end": 3, "text": "トヨタ", "choices": ["Sure"]},
        toyoda: {"start": 4, "end": 8, "text": "豊田章男", "choices": ["Unsure"]},
    }
    # A per-region TextArea keeps its answers under "text", where the span kept its own.
    assert controls["note"] == {toyota: {"start": 0, "end": 3, "text": ["brand name"]}}
    assert {(r["type"], r["to_name"]) for r in annotation.result if r["from_name"] != "label"} == {
        ("choices", "text"),
        ("textarea", "text"),
    }


def test_per_region_choices_and_rating_follow_image_shapes(annotator, labeling_project):
    task = {
        "data": {"image": "/static/e2e/satellite.png"},
        "predictions": [{"model_version": "v1", "result": PRELABEL[:2]}],
    }
    project = labeling_project(SHAPES, [task], title="Shapes with per-region answers")
    annotator.label(project)
    page = annotator.page
    page.wait_for_function("() => document.querySelector('.stage img')?.naturalWidth > 0")
    annotator.press("Tab", "Enter")  # the box, then its controls
    assert focused_control(page) == "density"
    annotator.press("2", "Tab", "3", "Escape")  # Dense, confidence 3; back to the image
    annotator.press("Tab", "Enter", "1", "Escape")  # the polygon: Thin
    annotator.press("ArrowRight")  # moving the polygon moves its answer's points too
    annotator.screenshot("per-region-shapes")
    annotator.submit()
    controls = by_control(Annotation.objects.get(project=project))
    box = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0}
    assert controls["density"] == {
        "cloud1": {**box, "choices": ["Dense"]},
        "storm1": {"points": [[61, 20], [81, 30], [71, 60]], "closed": True, "choices": ["Thin"]},
    }
    assert controls["confidence"] == {"cloud1": {**box, "rating": 3}}
    stored = Annotation.objects.get(project=project).result
    density = next(r for r in stored if r["from_name"] == "density" and r["id"] == "cloud1")
    assert (density["type"], density["to_name"], density["original_width"]) == ("choices", "image", 320)


def test_per_region_choices_on_labeled_turns(annotator, labeling_project):
    dialogue = [
        {"author": "customer", "text": "こんにちは。"},
        {"author": "agent", "text": "Your card is blocked, as you were told twice."},
    ]
    project = labeling_project(TURNS, [{"dialogue": dialogue}], title="Turns with a tone")
    annotator.label(project)
    page = annotator.page
    # With a per-turn control, labeling a turn stays on it so that its tone can follow.
    annotator.press("1", "Enter", "1", "Escape", "ArrowDown", "3", "Enter", "2", "Escape")
    annotator.screenshot("per-region-turns")
    annotator.submit()
    annotation = Annotation.objects.get(project=project)
    intents = {r["value"]["start"]: r["id"] for r in annotation.result if r["type"] == "paragraphlabels"}
    tone = by_control(annotation)["tone"]
    assert tone == {
        intents["0"]: {
            "start": "0",
            "end": "0",
            "startOffset": 0,
            "endOffset": 6,
            "text": "こんにちは。",
            "choices": ["Polite"],
        },
        intents["1"]: {
            "start": "1",
            "end": "1",
            "startOffset": 0,
            "endOffset": len(dialogue[1]["text"]),
            "text": dialogue[1]["text"],
            "choices": ["Rude"],
        },
    }
    assert page.locator(".notice.error").count() == 0


def test_per_item_choices_are_named_as_unsupported(annotator, labeling_project):
    config = TURNS.replace('perRegion="true"', 'perItem="true"')
    project = labeling_project(config, [{"dialogue": [{"author": "a", "text": "hi"}]}], title="Per item")
    annotator.label(project)
    notice = annotator.page.locator(".notice.error").inner_text()
    assert "per-item Choices (perItem)" in notice and "cannot show" in notice
    assert annotator.page.locator(".toolbar button.primary").is_disabled()


def test_required_per_region_choices_need_an_answer_on_every_span(annotator, labeling_project):
    config = SPANS.replace(
        'perRegion="true" choice="single"', 'perRegion="true" choice="single" required="true"'
    )
    project = labeling_project(config, [{"text": JAPANESE}], title="Required per region")
    annotator.label(project)
    page = annotator.page
    annotator.press(*["Shift+ArrowRight"] * 3, "1", "Enter", "1", "Escape")  # トヨタ: ORG, Sure
    annotator.press("ArrowRight", *["Shift+ArrowRight"] * 4, "2")  # 豊田章男: PER, not answered yet
    annotator.press("Control+Enter")
    error = page.locator(".notice.error")
    error.wait_for()
    # No Header above it: its options are what the annotator sees of it.
    assert "Answer “Sure / Unsure” before submitting" in error.inner_text()
    assert not Annotation.objects.filter(project=project).exists()
    assert focused_control(page) == "certainty"  # the refusal sent focus to the control
    annotator.press("2")
    annotator.submit()
    certainty = by_control(Annotation.objects.get(project=project))["certainty"]
    assert sorted(value["choices"][0] for value in certainty.values()) == ["Sure", "Unsure"]
