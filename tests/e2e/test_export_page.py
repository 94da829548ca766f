"""A project's Export tab: format and tasks chosen, the download streamed with its progress, the file
saved under the server's name and checked row by row."""

import csv
import io
import json

import pytest

from annotation.services.annotations import annotation_create
from tests.conftest import choice
from tests.e2e.conftest import SENTIMENT
from tests.e2e.helpers.export_page import download, open_export

pytestmark = pytest.mark.e2e

NEWS = [
    {"text": "Profit rose 12% on strong card spending."},
    {"text": 'The lender wrote off 2 billion, "a one-off".'},
    {"text": "The meeting is on Tuesday.\nAgenda to follow."},
]


def test_reviewer_exports_labeled_tasks_as_csv(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Exported")
    first, second, _unlabeled = project.tasks.order_by("inner_id")
    annotation_create(task=first, user=cast.users["annotator"], result=choice("Positive"))
    annotation_create(task=second, user=cast.users["annotator2"], result=choice("Negative"))
    reviewer = open_session(cast.users["reviewer"].email)
    open_export(reviewer, project)
    page = reviewer.page
    assert page.get_by_label("Labeled tasks only (2)").is_checked()
    page.get_by_label("CSV: the flat records as a table").check()
    # Every text the status line shows, to see the progress that passes too fast to read.
    page.evaluate(
        """() => {
          const status = document.querySelector('.export-form .notice');
          window.__statuses = [];
          new MutationObserver(() => window.__statuses.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    name, body = download(reviewer)
    assert name == f"project-{project.pk}-CSV.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert sorted((int(row["id"]), row["sentiment"], row["text"]) for row in rows) == [
        (first.pk, "Positive", NEWS[0]["text"]),
        (second.pk, "Negative", NEWS[1]["text"]),
    ]
    status = page.locator(".export-form .notice").inner_text()
    assert status.startswith(f"Saved project-{project.pk}-CSV.csv: ") and status.endswith(", 2 rows.")
    assert page.locator(".export-form progress").evaluate("bar => bar.value") == 1
    statuses = page.evaluate("() => window.__statuses")
    assert statuses[0] == "Preparing the export…"
    assert any(text.endswith(" received, 2 rows of about 2") for text in statuses), statuses
    assert reviewer.errors == []


def test_all_tasks_as_json_and_a_selection_from_the_data_table(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Everything")
    first, second, third = project.tasks.order_by("inner_id")
    annotation_create(task=first, user=cast.users["annotator"], result=choice("Positive"))
    manager = open_session(cast.users["manager"].email)
    open_export(manager, project)
    page = manager.page
    page.get_by_label("All tasks (3)").check()
    name, body = download(manager)
    assert name == f"project-{project.pk}-JSON.json"
    exported = json.loads(body)
    assert [task["id"] for task in exported] == [first.pk, second.pk, third.pk]
    assert exported[0]["annotations"][0]["result"] == choice("Positive")
    assert page.locator(".export-form .notice").inner_text().endswith(", 3 rows.")

    # The data table hands its selection over in the address; TSV of those two tasks only.
    open_export(manager, project, f"?ids={second.pk},{third.pk}")
    assert page.get_by_label("The tasks selected in the data table (2)").is_checked()
    page.get_by_label("TSV: the same table, separated by tabs").check()
    name, body = download(manager)
    assert name == f"project-{project.pk}-TSV.tsv"
    rows = list(csv.DictReader(io.StringIO(body.decode()), delimiter="\t"))
    assert sorted(int(row["id"]) for row in rows) == [second.pk, third.pk]
    # The multi-line text cell is one row, not two.
    assert page.locator(".export-form .notice").inner_text().endswith(", 2 rows.")
    assert manager.errors == []


def test_a_refused_export_says_why_in_the_page(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Refused")
    reviewer = open_session(cast.users["reviewer"].email)
    # A selection whose tasks are gone: an empty file, and the page says so.
    open_export(reviewer, project, "?ids=999999999")
    reviewer.page.get_by_role("button", name="Download").click()
    reviewer.page.locator("form.export-form[data-state=done]").wait_for()
    assert reviewer.page.locator(".export-form .notice").inner_text().endswith(", 0 rows.")
    # A refusal from the server (as for an id it cannot read) is shown as its sentence.
    refusal = {"error": {"code": "invalid", "message": "'x' is not a task id.", "field": "ids"}}
    reviewer.page.route("**/export?*", lambda route: route.fulfill(status=400, json=refusal))
    reviewer.page.get_by_role("button", name="Download").click()
    reviewer.page.locator("form.export-form[data-state=failed]").wait_for()
    assert (
        reviewer.page.locator(".export-form .notice").inner_text()
        == "The export failed: 'x' is not a task id."
    )
    assert reviewer.errors == []


def test_cancel_stops_a_download_in_flight(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Slow")
    reviewer = open_session(cast.users["reviewer"].email)
    open_export(reviewer, project)
    page = reviewer.page
    # A server that has not answered yet when the person gives up.
    page.route("**/export?*", lambda route: None)
    page.get_by_label("All tasks (3)").check()
    page.get_by_role("button", name="Download").click()
    cancel = page.get_by_role("button", name="Cancel")
    cancel.wait_for()
    assert page.get_by_role("button", name="Download").is_disabled()
    cancel.click()
    page.locator("form.export-form[data-state=cancelled]").wait_for()
    assert page.locator(".export-form .notice").inner_text() == "The export was cancelled."
    assert not cancel.is_visible()
    assert reviewer.errors == []


def test_export_in_japanese_on_a_phone(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="電話で")
    reviewer = open_session(cast.users["reviewer"].email, locale="ja-JP")
    page = reviewer.page
    page.set_viewport_size({"width": 390, "height": 800})
    open_export(reviewer, project)
    assert page.locator(".export-form legend").all_inner_texts() == ["形式", "対象タスク"]
    assert page.get_by_label("ラベル付け済みのタスクのみ（0 件）").is_checked()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    with page.expect_download():
        page.get_by_role("button", name="ダウンロード").click()
    page.locator("form.export-form[data-state=done]").wait_for()
    status = page.locator(".export-form .notice").inner_text()
    assert status.startswith(f"project-{project.pk}-JSON.json を保存しました") and "0 行" in status
    assert status.endswith("この条件でエクスポートするタスクはありません。")
    assert reviewer.errors == []
