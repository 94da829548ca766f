"""Image shapes edited by keyboard: Tab selects a shape, arrows move it, Shift+arrows resize it,
Delete removes it; the stored result has the new x, y, width, height (percent of the image)."""

import pytest

from annotation.models import Annotation
from tests.e2e.conftest import IMAGES

pytestmark = pytest.mark.e2e


def shape(region_id: str, control: str, kind: str, value: dict) -> dict:
    return {
        "id": region_id,
        "from_name": control,
        "to_name": "image",
        "type": kind,
        "original_width": 320,
        "original_height": 200,
        "image_rotation": 0,
        "value": value,
    }


def box(region_id: str, x, y, width, height, label: str) -> dict:
    value = {"x": x, "y": y, "width": width, "height": height, "rotation": 0, "rectanglelabels": [label]}
    return shape(region_id, "box", "rectanglelabels", value)


# Shapes at known places (a model's pre-label), so that each key press has an exact expected effect.
PRELABEL = [
    box("cloud1", 10, 10, 20, 20, "Cloud"),
    shape(
        "storm1",
        "area",
        "polygonlabels",
        {"points": [[60, 20], [80, 30], [70, 60]], "polygonlabels": ["Storm"], "closed": True},
    ),
    box("coast1", 50, 70, 10, 10, "Coast"),
]


def selected(page) -> str | None:
    return page.evaluate("() => document.querySelector('.stage .shape.selected')?.dataset.region ?? null")


def test_shapes_move_resize_and_delete_by_keyboard(annotator, labeling_project):
    task = {
        "data": {"image": "/static/e2e/satellite.png"},
        "predictions": [{"model_version": "v1", "result": PRELABEL}],
    }
    project = labeling_project(IMAGES, [task], title="Weather imagery, by keyboard")
    annotator.label(project)
    page = annotator.page
    page.wait_for_function("() => document.querySelector('.stage img')?.naturalWidth > 0")
    assert page.evaluate("() => document.activeElement.classList.contains('stage')")
    annotator.press("Tab")
    assert selected(page) == "cloud1"
    annotator.press(*["ArrowRight"] * 3, *["ArrowDown"] * 2)  # x 10 -> 13, y 10 -> 12
    annotator.press(*["Shift+ArrowRight"] * 5, *["Shift+ArrowUp"] * 10)  # width 20 -> 25, height 20 -> 10
    annotator.press("Alt+ArrowLeft")  # a finer step: x 13 -> 12.9
    annotator.press("Tab")
    assert selected(page) == "storm1"
    annotator.press("ArrowLeft", "ArrowLeft", *["Shift+ArrowDown"] * 4)  # 2 to the left; 40 -> 44 tall
    annotator.press("Tab")
    assert selected(page) == "coast1"
    annotator.screenshot("image-keyboard-editing")
    annotator.press("Delete")
    assert page.locator(".region-list li").count() == 2 and selected(page) is None
    annotator.press("Tab", "Tab")
    assert selected(page) == "storm1"
    # Past the last shape, Tab leaves the image for the next part of the page.
    annotator.press("Tab")
    assert not page.evaluate("() => document.activeElement.classList.contains('stage')")
    annotator.submit()
    stored = {region["id"]: region for region in Annotation.objects.get(project=project).result}
    assert sorted(stored) == ["cloud1", "storm1"]
    assert stored["cloud1"]["value"] == {
        "x": 12.9,
        "y": 12,
        "width": 25,
        "height": 10,
        "rotation": 0,
        "rectanglelabels": ["Cloud"],
    }
    assert stored["cloud1"]["original_width"] == 320 and stored["cloud1"]["type"] == "rectanglelabels"
    # The polygon moved as a whole and grew downwards from its top edge.
    assert stored["storm1"]["value"]["points"] == [[58, 20], [78, 31], [68, 64]]
    assert stored["storm1"]["value"]["polygonlabels"] == ["Storm"]


def test_shapes_stay_inside_the_image_and_undo_takes_back_a_whole_move(annotator, labeling_project):
    task = {
        "data": {"image": "/static/e2e/satellite.png"},
        "predictions": [{"model_version": "v1", "result": PRELABEL[:1]}],
    }
    project = labeling_project(IMAGES, [task], title="Weather imagery, edges")
    annotator.label(project)
    page = annotator.page
    page.wait_for_function("() => document.querySelector('.stage img')?.naturalWidth > 0")
    annotator.press("ArrowUp")  # with nothing selected, an arrow selects the first shape
    assert selected(page) == "cloud1"
    annotator.press(*["ArrowUp"] * 15)  # y 10 -> 0, not below
    annotator.press(*["Shift+ArrowRight"] * 5)  # width 20 -> 25
    annotator.press("u")  # the resize goes back in one step, the move stays
    annotator.press(*["ArrowRight"] * 90)  # x stops where the box touches the right edge: 100 - 20
    annotator.submit()
    value = Annotation.objects.get(project=project).result[0]["value"]
    assert (value["x"], value["y"], value["width"], value["height"]) == (80, 0, 20, 20)
