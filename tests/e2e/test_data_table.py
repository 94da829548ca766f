"""The Data tab in a browser: filters by label and annotator, a read-only task view that takes no
lock, a bulk delete of a selection, the export of a filter, and the page in Japanese."""

import json

import pytest

from annotation.models import Annotation, Task, TaskLock
from annotation.services.annotations import annotation_create
from tests.conftest import SENTIMENT_CONFIG, choice
from tests.e2e.helpers.data_table import add_filter, open_table, shown_ids, wait_for_rows

pytestmark = pytest.mark.e2e


@pytest.fixture
def table_project(cast, labeling_project):
    texts = [f"Market note {i}: shares moved" for i in range(12)] + ["トヨタの決算は好調だった"]
    project = labeling_project(
        SENTIMENT_CONFIG, [{"text": text} for text in texts], title="Notes", maximum_annotations=1
    )
    tasks = list(Task.objects.filter(project=project).order_by("inner_id"))
    for task, (user, label) in zip(
        tasks[:6], [("annotator", "Positive"), ("annotator2", "Negative")] * 3, strict=True
    ):
        annotation_create(task=task, user=cast.users[user], result=choice(label))
    return project, tasks


def test_filter_open_read_only_bulk_delete_and_export(open_session, cast, table_project):
    project, tasks = table_project
    manager = open_session(cast.users["manager"].email)
    page = manager.page
    open_table(manager, project)
    assert len(shown_ids(page)) == 13

    # Label filter: the three tasks labeled Positive.
    add_filter(page, "labels", "contains", "Positive")
    page.click("#filter-panel button.primary")
    page.wait_for_function("() => document.querySelectorAll('table.tasks tbody tr').length === 3")
    assert sorted(shown_ids(page)) == sorted(t.pk for t in tasks[0:6:2])
    assert "Positive" in page.locator("table.tasks tbody").inner_text()

    # And the annotator: annotator2 labeled none of them as Positive; switch the label to Negative.
    page.locator(".filter-row").first.locator("input").fill("Negative")
    add_filter(page, "annotators", "contains", str(cast.users["annotator2"].pk), select_value=True)
    page.click("#filter-panel button.primary")
    wait_for_rows(page, sorted(t.pk for t in tasks[1:6:2]))
    assert "f=" in page.url  # the filter is in the address

    # The read-only task view takes no lock and changes no queue.
    locks_before = TaskLock.objects.count()
    page.locator("table.tasks tbody tr").first.locator("button.link").click()
    dialog = page.locator("dialog.task-view")
    dialog.wait_for()
    page.wait_for_selector("dialog.task-view .result-card")
    assert dialog.locator(".read-only-editor").first.evaluate("node => node.inert") is True
    assert "annotator2@acme.test" in dialog.inner_text()
    assert TaskLock.objects.count() == locks_before == 0
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")

    # Export of the filter: the three Negative tasks.
    page.locator("table.tasks thead input[type=checkbox]").check()
    with page.expect_download() as download_info:
        page.click(".selection-bar button:has-text('Export selection')")
    exported = json.loads(open(download_info.value.path(), encoding="utf-8").read())
    assert sorted(task["id"] for task in exported) == sorted(t.pk for t in tasks[1:6:2])

    # Bulk delete of two of them.
    page.locator("table.tasks thead input[type=checkbox]").uncheck()
    boxes = page.locator("table.tasks tbody input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    chosen = shown_ids(page)[:2]
    page.click(".selection-bar button:has-text('Delete tasks')")
    page.click("dialog.confirm button.danger")
    page.wait_for_function("() => document.querySelectorAll('table.tasks tbody tr').length === 1")
    assert not Task.objects.filter(pk__in=chosen).exists()
    assert Task.objects.filter(project=project).count() == 11
    assert Annotation.objects.filter(task_id__in=chosen).count() == 0
    assert manager.errors == []


def test_full_text_search_and_japanese_ui(open_session, cast, table_project):
    project, tasks = table_project
    session = open_session(cast.users["reviewer"].email, locale="ja-JP")
    page = session.page
    open_table(session, project)
    assert "フィルター" in page.locator(".table-toolbar").inner_text()
    page.fill(".table-toolbar input[type=search]", "トヨタ")
    page.press(".table-toolbar input[type=search]", "Enter")
    page.wait_for_function("() => document.querySelectorAll('table.tasks tbody tr').length === 1")
    assert shown_ids(page) == [tasks[-1].pk]
    # A reviewer may export but has no bulk actions.
    page.locator("table.tasks thead input[type=checkbox]").check()
    assert page.locator(".selection-bar button.danger").count() == 0
    assert session.errors == []


def test_annotators_get_the_403_page(open_session, cast, table_project):
    project, _ = table_project
    session = open_session(cast.users["annotator"].email)
    response = session.page.goto(f"{session.base_url}/projects/{project.pk}/data/")
    assert response.status == 403
    assert session.page.locator("table.tasks").count() == 0


def test_a_reviewer_accepts_the_annotations_of_a_filtered_selection(open_session, cast, table_project):
    project, tasks = table_project
    reviewer = open_session(cast.users["reviewer"].email)
    page = reviewer.page
    open_table(reviewer, project)
    add_filter(page, "labels", "contains", "Positive")
    page.click("#filter-panel button.primary")
    page.wait_for_function("() => document.querySelectorAll('table.tasks tbody tr').length === 3")
    page.locator("table.tasks thead input[type=checkbox]").check()
    page.click(".selection-bar button:has-text('Accept annotations')")
    page.click("dialog.confirm button.danger")
    page.wait_for_selector("p.notice:has-text('Accepted 3 annotations')")
    positives = Annotation.objects.filter(task_id__in=[t.pk for t in tasks[0:6:2]])
    assert set(positives.values_list("review_state", flat=True)) == {"accepted"}
    others = Annotation.objects.exclude(task_id__in=[t.pk for t in tasks[0:6:2]])
    assert set(others.values_list("review_state", flat=True)) == {"submitted"}
    assert set(Task.objects.filter(pk__in=[t.pk for t in tasks[0:6:2]]).values_list("state", flat=True)) == {
        "done"
    }
    assert reviewer.errors == []
