"""An annotator labels several tasks of each task type, by keyboard where the type allows, and the
stored annotations are exactly Label Studio's result JSON."""

import pytest

from annotation.models import Annotation
from tests.e2e.conftest import DIALOGUE, IMAGES, PAIRWISE, PAIRWISE_TAG, RUBRIC, SENTIMENT, SFT, TOPICS

pytestmark = pytest.mark.e2e


def results(project, key: str = "value") -> list:
    """The stored results of a project, in task order, each reduced to its regions' ``key``."""
    rows = Annotation.objects.filter(project=project).order_by("task__inner_id")
    return [[region[key] for region in row.result] for row in rows]


def test_single_choice_sentiment_by_keyboard(annotator, labeling_project, cast):
    project = labeling_project(
        SENTIMENT,
        [
            {"text": "Acme's quarterly profit beat every estimate."},
            {"text": "Shares slid 8% after the guidance cut."},
            {"text": "The central bank left rates unchanged."},
        ],
        title="FinGPT sentiment",
    )
    annotator.label(project)
    page = annotator.page
    assert page.locator(".choice").count() == 3
    annotator.press("1")
    annotator.screenshot("single-choice")
    annotator.submit()
    annotator.press("2")
    annotator.submit()
    # Undo: a wrong pick taken back before the right one.
    annotator.press("1", "u", "3")
    before = annotator.ready()
    annotator.press("Enter")
    annotator.wait_next(before)
    assert page.locator(".done h2").inner_text() == "All done"
    assert results(project) == [
        [{"choices": ["Positive"]}],
        [{"choices": ["Negative"]}],
        [{"choices": ["Neutral"]}],
    ]
    rows = Annotation.objects.filter(project=project)
    assert all(row.completed_by == cast.users["annotator"] and row.lead_time > 0 for row in rows)
    assert all(
        row.result[0]["from_name"] == "sentiment" and row.result[0]["to_name"] == "text" for row in rows
    )
    assert annotator.errors == []


def test_multiple_choice_topics_keep_config_order(annotator, labeling_project):
    project = labeling_project(
        TOPICS,
        [
            {"text": "The utility raised its dividend after a merger with a wind farm operator."},
            {"text": "Yields fell."},
        ],
        title="Topics",
    )
    annotator.label(project)
    annotator.press("4", "3", "2", "2")  # M&A, Climate, Earnings on then off again
    annotator.screenshot("multiple-choice")
    annotator.submit()
    annotator.press("1")
    annotator.submit()
    assert results(project) == [[{"choices": ["Climate", "M&A"]}], [{"choices": ["Rates"]}]]


def test_free_text_answers_with_context_passages(annotator, labeling_project):
    project = labeling_project(
        SFT,
        [
            {
                "prompt": "Can a landlord keep the whole deposit for normal wear and tear?",
                "context": [
                    "Civil Code art. 622-2: the lessor returns the deposit less unpaid rent and damages.",
                    "Normal wear and tear is excluded from the tenant's duty to restore the premises.",
                ],
            },
            {
                "prompt": "What is the first-line treatment for type 2 diabetes?",
                "context": ["Guideline: metformin."],
            },
        ],
        title="Legal and medical QA (SFT)",
    )
    annotator.label(project)
    page = annotator.page
    assert page.locator(".passage").count() == 2
    # Focus starts in the answer box: the only thing to act on.
    page.keyboard.type("No. Normal wear and tear is excluded (art. 622-2).")
    annotator.screenshot("free-text-sft")
    annotator.submit()
    page.keyboard.type("Metformin, with lifestyle changes.")
    annotator.submit()
    assert results(project) == [
        [{"text": ["No. Normal wear and tear is excluded (art. 622-2)."]}],
        [{"text": ["Metformin, with lifestyle changes."]}],
    ]
    stored = Annotation.objects.filter(project=project).first().result[0]
    assert stored["type"] == "textarea" and stored["from_name"] == "answer" and stored["to_name"] == "prompt"


def test_pairwise_preference_with_tie_and_reason(annotator, labeling_project):
    project = labeling_project(
        PAIRWISE,
        [
            {
                "prompt": "Explain APR.",
                "answer_a": "APR is the yearly cost of a loan.",
                "answer_b": "It's a number.",
            },
            {
                "prompt": "What is a bond?",
                "answer_a": "A loan to an issuer.",
                "answer_b": "Debt sold by an issuer.",
            },
        ],
        title="Preference pairs (DPO)",
    )
    annotator.label(project)
    page = annotator.page
    assert page.locator(".view.side-by-side .text-object").count() == 2
    annotator.press("1", "Tab")
    page.keyboard.type("A defines the term; B says nothing.")
    annotator.screenshot("pairwise-choices")
    annotator.submit()
    annotator.press("3")
    annotator.submit()
    assert results(project) == [
        [{"choices": ["A is better"]}, {"text": ["A defines the term; B says nothing."]}],
        [{"choices": ["Tie"]}],
    ]


def test_pairwise_tag_left_or_right_by_arrow_keys_with_tie_and_reason(annotator, labeling_project):
    pairs = [
        ("Explain APR.", "APR is the yearly cost of a loan, fees included.", "It's a number."),
        ("What is a bond?", "A loan to an issuer.", "Debt sold by an issuer."),
        ("Define beta.", "Noise.", "Sensitivity of a stock to the market."),
    ]
    project = labeling_project(
        PAIRWISE_TAG,
        [{"prompt": p, "answer_a": a, "answer_b": b} for p, a, b in pairs],
        title="Preference pairs (Pairwise)",
    )
    annotator.label(project)
    page = annotator.page
    # The two responses side by side, inside the Pairwise control that has focus.
    sides = page.locator(".control.pairwise .pair-side")
    assert sides.count() == 2
    assert [sides.nth(i).locator(".text-body").inner_text() for i in (0, 1)] == list(pairs[0][1:])
    assert page.evaluate("() => document.activeElement.dataset.control") == "preference"
    annotator.press("ArrowRight", "ArrowLeft", "Tab", "Tab")  # right, then left after all; on to the reason
    page.keyboard.type("A includes fees.")
    assert page.locator(".pair-side.chosen").get_attribute("data-side") == "left"
    annotator.screenshot("pairwise")
    annotator.submit()
    annotator.press("2", "2", "Tab", "1")  # right, taken back; a tie instead
    annotator.submit()
    page.locator(".pair-side.right").click()  # the mouse picks a side too
    annotator.submit()
    assert results(project, "type") == [["pairwise", "textarea"], ["choices"], ["pairwise"]]
    assert results(project) == [
        [{"selected": "left"}, {"text": ["A includes fees."]}],
        [{"choices": ["Tie: equally good"]}],
        [{"selected": "right"}],
    ]
    # As Label Studio stores it: to_name is the Pairwise control itself.
    first = Annotation.objects.filter(project=project).order_by("task__inner_id").first().result[0]
    assert (first["from_name"], first["to_name"]) == ("preference", "preference")


def test_rubric_rating_on_several_axes_with_comment(annotator, labeling_project):
    project = labeling_project(
        RUBRIC,
        [
            {
                "question": "Is ibuprofen safe in late pregnancy?",
                "answer": "Avoid after 20 weeks unless advised.",
            },
            {"question": "Dose of paracetamol?", "answer": "Up to 4 g a day for adults."},
        ],
        title="Medical QA rubric",
    )
    annotator.label(project)
    page = annotator.page
    annotator.press("4", "Tab", "5", "Tab", "3", "Tab")
    page.keyboard.type("Cites no source.")
    annotator.screenshot("rubric-rating")
    annotator.submit()
    annotator.press("5", "Tab", "5", "Tab", "4")
    annotator.submit()
    first, second = Annotation.objects.filter(project=project).order_by("task__inner_id")
    assert {r["from_name"]: r["value"] for r in first.result} == {
        "factuality": {"rating": 4},
        "harm": {"rating": 5},
        "completeness": {"rating": 3},
        "comment": {"text": ["Cites no source."]},
    }
    assert {r["from_name"]: r["value"]["rating"] for r in second.result} == {
        "factuality": 5,
        "harm": 5,
        "completeness": 4,
    }
    assert all(r["type"] == "rating" and r["to_name"] == "answer" for r in second.result)


def test_conversation_label_per_turn(annotator, labeling_project):
    dialogue = [
        {"author": "customer", "text": "こんにちは、口座の残高を知りたいです。"},
        {"author": "agent", "text": "Hello! Your balance is 1,250 dollars."},
        {"author": "customer", "text": "Why was I charged a fee twice?"},
    ]
    project = labeling_project(
        DIALOGUE,
        [{"dialogue": dialogue}, {"dialogue": dialogue[:2]}],
        title="Banking dialogue intents",
    )
    annotator.label(project)
    # Focus starts on the first turn; each label moves on to the next turn.
    annotator.press("2", "3", "4")
    annotator.press("ArrowUp", "ArrowUp", "ArrowUp", "1")  # relabel the first turn
    annotator.screenshot("conversation")
    annotator.submit()
    annotator.press("1", "3")
    annotator.submit()
    first, second = Annotation.objects.filter(project=project).order_by("task__inner_id")
    by_turn = {r["value"]["start"]: r["value"] for r in first.result}
    assert sorted(by_turn) == ["0", "1", "2"]
    assert by_turn["0"] == {
        "start": "0",
        "end": "0",
        "startOffset": 0,
        "endOffset": len(dialogue[0]["text"]),
        "text": dialogue[0]["text"],
        "paragraphlabels": ["Greeting"],
    }
    assert [by_turn[i]["paragraphlabels"] for i in "12"] == [["Answer"], ["Complaint"]]
    assert all(r["type"] == "paragraphlabels" and r["to_name"] == "dialogue" for r in first.result)
    assert sorted((r["value"]["start"], r["value"]["paragraphlabels"][0]) for r in second.result) == [
        ("0", "Greeting"),
        ("1", "Answer"),
    ]


def _drag(page, box, start, end) -> None:
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=4)
    page.mouse.up()


def _click(page, box, point) -> None:
    page.mouse.click(box["x"] + box["width"] * point[0], box["y"] + box["height"] * point[1])


def test_images_with_boxes_and_polygons(annotator, labeling_project):
    image = "/static/e2e/satellite.png"
    project = labeling_project(IMAGES, [{"image": image}, {"image": image}], title="Weather imagery")
    annotator.label(project)
    page = annotator.page
    page.wait_for_function("() => document.querySelector('.stage img')?.naturalWidth > 0")
    box = page.locator(".stage .overlay").bounding_box()
    annotator.press("1")  # Cloud
    _drag(page, box, (0.2, 0.15), (0.4, 0.45))
    annotator.press("3")  # Storm (polygon)
    for point in [(0.7, 0.2), (0.9, 0.3), (0.8, 0.6)]:
        _click(page, box, point)
    annotator.press("Enter")  # closes the polygon, does not submit
    assert page.locator(".region-list li").count() == 2
    annotator.screenshot("image-boxes-polygons")
    annotator.submit()
    annotator.press("2")  # Coast
    _drag(page, box, (0.7, 0.1), (0.95, 0.9))
    annotator.submit()
    first, second = Annotation.objects.filter(project=project).order_by("task__inner_id")
    rect = next(r for r in first.result if r["type"] == "rectanglelabels")
    polygon = next(r for r in first.result if r["type"] == "polygonlabels")
    assert rect["from_name"] == "box" and rect["to_name"] == "image"
    assert rect["original_width"] == 320 and rect["original_height"] == 200
    assert rect["value"]["rectanglelabels"] == ["Cloud"]
    assert rect["value"]["x"] == pytest.approx(20, abs=1) and rect["value"]["y"] == pytest.approx(15, abs=1)
    assert rect["value"]["width"] == pytest.approx(20, abs=1) and rect["value"]["height"] == pytest.approx(
        30, abs=1
    )
    assert polygon["value"]["polygonlabels"] == ["Storm"]
    assert [[round(x), round(y)] for x, y in polygon["value"]["points"]] == [[70, 20], [90, 30], [80, 60]]
    assert second.result[0]["value"]["rectanglelabels"] == ["Coast"]


def test_image_from_a_foreign_origin_is_not_loaded(annotator, labeling_project, settings):
    settings.TESSERA_IMAGE_ALLOWED_ORIGINS = []
    project = labeling_project(
        IMAGES, [{"image": "https://images.example.net/leak.png"}], title="Foreign image"
    )
    requested = []
    annotator.page.on("request", lambda request: requested.append(request.url))
    annotator.label(project)
    assert "not an allowed source" in annotator.page.locator(".stage .blocked").inner_text()
    assert annotator.page.locator(".stage img").count() == 0
    assert not [url for url in requested if "example.net" in url]
