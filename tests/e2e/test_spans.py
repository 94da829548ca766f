"""Span labeling (Labels + Text) with exact character offsets: code points, as the server counts them,
for Japanese text and for characters outside the Basic Multilingual Plane (two UTF-16 units in JS)."""

import pytest

from annotation.models import Annotation
from tests.e2e.conftest import NER

pytestmark = pytest.mark.e2e

JAPANESE = "トヨタ自動車は東京で新型車を発表した。"
ASTRAL = "𠮷野家の牛丼は500円です。"


def spans(annotation) -> list[tuple]:
    return sorted(
        (r["value"]["start"], r["value"]["end"], r["value"]["text"], r["value"]["labels"][0])
        for r in annotation.result
    )


def test_japanese_spans_by_keyboard_with_overlap(annotator, labeling_project):
    project = labeling_project(NER, [{"text": JAPANESE}, {"text": ASTRAL}], title="日本語の固有表現 (NER)")
    annotator.label(project)
    # Focus starts in the text, caret at its start.
    annotator.press(*["Shift+ArrowRight"] * 6, "1")  # トヨタ自動車 -> ORG
    annotator.press("ArrowRight", *["Shift+ArrowRight"] * 2, "2")  # 東京 -> LOC
    annotator.press("Home", *["Shift+ArrowRight"] * 3, "3")  # トヨタ -> PER, inside the ORG span
    page = annotator.page
    assert page.locator(".text-body .badge").count() == 3
    # The overlap shows: the first three characters carry two bars (ORG and PER).
    assert page.locator(".seg.labeled").first.evaluate("node => node.title") == "ORG + PER"
    annotator.screenshot("spans-japanese")
    annotator.submit()
    annotation = Annotation.objects.get(task__inner_id=1, project=project)
    assert spans(annotation) == [
        (0, 3, "トヨタ", "PER"),
        (0, 6, "トヨタ自動車", "ORG"),
        (7, 9, "東京", "LOC"),
    ]
    for start, end, text, _ in spans(annotation):
        assert JAPANESE[start:end] == text
    assert all(
        r["from_name"] == "label" and r["to_name"] == "text" and r["type"] == "labels"
        for r in annotation.result
    )


def _drag_select(page, start_unit: int, end_unit: int) -> None:
    """Drag the mouse over the text from UTF-16 offset ``start_unit`` to ``end_unit`` of the first segment."""
    box = page.evaluate(
        """([start, end]) => {
            const node = document.querySelector('.text-body .seg').firstChild;
            const range = document.createRange();
            range.setStart(node, start); range.setEnd(node, start + (node.data.codePointAt(start) > 0xffff ? 2 : 1));
            const first = range.getBoundingClientRect();
            range.setStart(node, end - 1); range.setEnd(node, end);
            const last = range.getBoundingClientRect();
            return {x1: first.left + 1, y1: first.top + first.height / 2, x2: last.right - 1, y2: last.top + last.height / 2};
        }""",
        [start_unit, end_unit],
    )
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=5)
    page.mouse.up()


def test_mouse_selection_counts_code_points_not_utf16_units(annotator, labeling_project):
    project = labeling_project(NER, [{"text": ASTRAL}], title="Astral characters")
    annotator.label(project)
    page = annotator.page
    annotator.press("4")  # MONEY chosen first: the next selection gets it at once
    _drag_select(page, 8, 12)  # "500円" is UTF-16 [8, 12) but code points [7, 11)
    annotator.press("1")  # ORG
    _drag_select(page, 0, 4)  # "𠮷野家": UTF-16 [0, 4), code points [0, 3)
    assert page.locator(".region-list li").count() == 2
    annotator.submit()
    annotation = Annotation.objects.get(project=project)
    assert spans(annotation) == [(0, 3, "𠮷野家", "ORG"), (7, 11, "500円", "MONEY")]
    assert ASTRAL[7:11] == "500円"


def test_select_then_label_and_delete_a_span(annotator, labeling_project):
    project = labeling_project(NER, [{"text": "Mizuho lent 3 billion yen to Sony."}], title="English NER")
    annotator.label(project)
    page = annotator.page
    annotator.press(*["Shift+ArrowRight"] * 6, "1")  # Mizuho -> ORG
    annotator.press("End", *["Shift+ArrowLeft"] * 5, "1")  # Sony. -> ORG (wrong: includes the full stop)
    page.locator(".region-list li", has_text="Sony.").click()
    annotator.press("Delete")
    annotator.press("End", "ArrowLeft", *["Shift+ArrowLeft"] * 4, "1")  # Sony -> ORG
    annotator.press(*["Control+ArrowLeft"] * 5)  # word by word back to "3"
    annotator.press("Control+Shift+ArrowRight", "Control+Shift+ArrowRight", "Control+Shift+ArrowRight", "4")
    annotator.submit()
    annotation = Annotation.objects.get(project=project)
    assert spans(annotation) == [
        (0, 6, "Mizuho", "ORG"),
        (12, 25, "3 billion yen", "MONEY"),
        (29, 33, "Sony", "ORG"),
    ]
