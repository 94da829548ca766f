"""The Dashboard tab in a real browser against the real metrics API: a project where two annotators
answered the same tasks renders its progress chart, agreement table, leaderboard, confusion matrix and
backlog; the leaderboard sorts by a metric; a table downloads as CSV, with a label that a spreadsheet
would run as a formula written as text."""

import csv
import io
from pathlib import Path

import pytest
from django.urls import Resolver404, resolve

from annotation.services.annotations import annotation_create
from tests.e2e.conftest import SCREENSHOT_DIR

# A choice spelled like a spreadsheet formula: the CSV must neutralise it as the server's export does.
CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="=Neutral"/>
  </Choices>
</View>"""

ANSWERS = [
    ("Positive", "Positive"),
    ("Negative", "Negative"),
    ("=Neutral", "=Neutral"),
    ("Positive", "Negative"),
    ("Negative", "Negative"),
    ("Positive", "Positive"),
]

ENDPOINTS = ["timeline/", "agreement/", "agreement/confusion", "annotators/", "review/backlog"]


def _choice(value: str) -> list[dict]:
    return [
        {
            "id": "c",
            "from_name": "sentiment",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [value]},
        }
    ]


@pytest.fixture
def dashboard_project(cast, labeling_project):
    project = labeling_project(
        CONFIG,
        [{"text": f"Headline {n}"} for n in range(len(ANSWERS))],
        title="Sentiment",
        maximum_annotations=2,
    )
    first, second = cast.users["annotator"], cast.users["annotator2"]
    for task, (a, b) in zip(project.tasks.order_by("inner_id"), ANSWERS, strict=True):
        annotation_create(task=task, user=first, result=_choice(a), lead_time=4.0)
        annotation_create(task=task, user=second, result=_choice(b), lead_time=6.0)
    return project


def _screenshot(page, name: str) -> None:
    """The whole page, into TESSERA_SCREENSHOT_DIR (docs/screenshots to refresh the documentation)."""
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)


@pytest.mark.e2e
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_dashboard_renders_with_data_and_downloads_csv(open_session, cast, dashboard_project, theme):
    for endpoint in ENDPOINTS:
        try:
            resolve(f"/api/projects/{dashboard_project.pk}/{endpoint}")
        except Resolver404:
            pytest.skip(f"/api/projects/{{id}}/{endpoint} is not served by this build yet")
    session = open_session(cast.users["reviewer"].email)
    page = session.page
    page.emulate_media(color_scheme=theme)
    page.goto(f"{session.base_url}/projects/{dashboard_project.pk}/dashboard/")
    page.wait_for_selector(".dashboard[data-state=ready]")
    assert page.locator(".dashboard [role=alert]").count() == 0, page.inner_text(".dashboard")

    # Progress: a chart drawn on a canvas, and its figures as a table.
    assert page.locator("#dash-progress canvas").count() >= 1
    submitted = sum(
        int(cell) for cell in page.locator("table.timeline tbody td:nth-child(2)").all_text_contents()
    )
    assert submitted == 2 * len(ANSWERS)
    # Agreement: the control's row with its figures (or the server's reason).
    assert page.locator("table.agreement tr[data-control=sentiment]").count() >= 1
    # Leaderboard: both annotators; sorting by median time puts the slower one first.
    rows = page.locator("table.leaderboard tbody tr")
    assert rows.count() == 2
    page.click("table.leaderboard button[data-sort=median_lead_time]")
    assert (
        page.locator("table.leaderboard th[aria-sort=descending] button[data-sort=median_lead_time]").count()
        == 1
    )
    assert page.inner_text("table.leaderboard tbody tr:first-child th") == cast.users["annotator2"].email
    # Confusion matrix between the two annotators (drawn on load).
    page.wait_for_selector("table.confusion")
    assert page.inner_text("#dash-confusion .confusion-result .hint")
    # Backlog.
    assert page.locator("#dash-backlog .backlog").count() == 1
    _screenshot(page, f"dashboard-data-en-{theme}")

    with page.expect_download() as download:
        page.click("#dash-confusion button[data-csv]")
    content = download.value.path().read_bytes().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(content)))
    labels = [row[0] for row in table[1:]]
    assert "'=Neutral" in labels and "=Neutral" not in labels
    counts = {row[0]: [int(n) for n in row[1:]] for row in table[1:]}
    assert sum(sum(row) for row in counts.values()) == len(ANSWERS)

    with page.expect_download() as download:
        page.click("#dash-annotators button[data-csv]")
    leaderboard = list(csv.reader(io.StringIO(download.value.path().read_bytes().decode("utf-8-sig"))))
    assert {row[0] for row in leaderboard[1:]} == {
        cast.users["annotator"].email,
        cast.users["annotator2"].email,
    }
    assert session.errors == []


@pytest.mark.e2e
def test_dashboard_in_japanese_at_phone_width(open_session, cast, dashboard_project):
    try:
        resolve(f"/api/projects/{dashboard_project.pk}/timeline/")
    except Resolver404:
        pytest.skip("the metrics API is not served by this build yet")
    session = open_session(cast.users["manager"].email, locale="ja-JP")
    page = session.page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{session.base_url}/projects/{dashboard_project.pk}/dashboard/")
    page.wait_for_selector(".dashboard[data-state=ready]")
    assert "進捗の推移" in page.inner_text("#dash-progress h3")
    # Nothing wider than the phone but the tables' own scrolling boxes.
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1
    _screenshot(page, "dashboard-data-ja-light")
    assert session.errors == []


@pytest.mark.e2e
def test_prelabels_by_model_version_chart_and_table(open_session, cast, labeling_project):
    from annotation.services.annotations import prediction_create

    project = labeling_project(CONFIG, [{"text": f"Headline {n}"} for n in range(4)], title="Sentiment")
    tasks = list(project.tasks.order_by("inner_id"))
    manager, annotator = cast.users["manager"], cast.users["annotator"]
    # v1 suggests Positive on two tasks: one kept, one replaced; v2 on two: both kept.
    for task, version, answer in zip(
        tasks, ["v1", "v1", "v2", "v2"], ["Positive", "Negative", "Negative", "Negative"], strict=True
    ):
        suggested = "Positive" if version == "v1" else "Negative"
        prediction = prediction_create(
            task=task, user=manager, result=_choice(suggested), model_version=version
        )
        annotation_create(
            task=task, user=annotator, result=_choice(answer), parent_prediction_id=prediction.pk
        )
    session = open_session(cast.users["reviewer"].email)
    page = session.page
    page.goto(f"{session.base_url}/projects/{project.pk}/dashboard/")
    page.wait_for_selector(".dashboard[data-state=ready]")
    section = page.locator("#dash-prelabels")
    assert section.locator("canvas").count() >= 1
    rows = section.locator("table.prelabels tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("th").inner_text() == "v1"
    cells = rows.nth(0).locator("td").all_inner_texts()
    # prelabeler, predictions, shown, kept unchanged, edited, replaced, reviewed, agreement
    assert cells[1:4] == ["2", "2", "1 (50%)"], cells
    assert cells[5] == "1 (50%)", cells
    assert rows.nth(1).locator("td").all_inner_texts()[3] == "2 (100%)"
    with page.expect_download() as download:
        section.locator("button[data-csv]").click()
    assert download.value.suggested_filename == f"project-{project.pk}-prelabels.csv"
    assert session.errors == []
