"""The Import tab in Chromium: files checked in the browser, a preview with the column mapping, the upload
(at once, or as a background job on a real Celery worker), and clear failures that write nothing."""

import json

import pytest
from playwright.sync_api import expect

from annotation.models import ImportJob, Task
from tests.e2e.conftest import SENTIMENT
from tests.e2e.helpers.import_page import csv_rows, open_import, upload_file
from tests.integration.conftest import broker_url, start_worker  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project(labeling_project):
    return labeling_project(SENTIMENT, [], title="Headlines")


@pytest.fixture
def manager(open_session, cast):
    return open_session(cast.users["manager"].email)


def test_manager_imports_a_mapped_csv_of_2000_rows_and_a_jsonl_file_at_once(manager, project):
    page = manager.page
    open_import(manager, project)
    assert page.locator('a.tab[aria-current="page"]').inner_text() == "Import"
    jsonl = b'{"text": "From lines one"}\n{"data": {"text": "From lines two"}, "meta": {"n": 2}}\n'
    page.set_input_files(
        "#import-files", [upload_file("headlines.csv", csv_rows(2000)), upload_file("more.jsonl", jsonl)]
    )

    page.wait_for_selector("#import-preview:not([hidden])")
    assert "2,000 rows" in page.locator('.import-file[data-name="headlines.csv"]').inner_text()
    page.select_option("#import-map-text", "sentence")
    first_row = page.locator('.import-file[data-name="headlines.csv"] tbody tr').first.inner_text()
    assert "Headline 0, with a comma" in first_row
    assert "From lines one" in page.locator('.import-file[data-name="more.jsonl"]').inner_text()
    page.click("#import-start")

    done = page.wait_for_selector("#import-done", timeout=30_000).inner_text()
    assert "Imported 2,002 tasks" in done
    assert page.locator("#import-done a").get_attribute("href") == f"/projects/{project.pk}/data/"
    tasks = list(Task.objects.filter(project=project).order_by("inner_id").values_list("data", flat=True))
    assert len(tasks) == 2002
    assert tasks[0] == {"text": "Headline 0, with a comma", "source": "wire"}
    assert tasks[-2:] == [{"text": "From lines one"}, {"text": "From lines two"}]
    assert not manager.errors


def test_a_large_file_runs_as_a_background_job_whose_progress_the_page_follows(
    manager,
    project,
    start_worker,  # noqa: F811 - the fixture imported above
    settings,
):
    worker = start_worker()  # lowers TESSERA_SYNC_IMPORT_MAX_BYTES to 1 KB for the app and the worker
    page = manager.page
    open_import(manager, project)
    page.set_input_files("#import-files", [upload_file("big.csv", csv_rows(3000))])
    page.wait_for_selector("#import-preview:not([hidden])")
    assert "large file" in page.locator(".import-file").inner_text()
    page.select_option("#import-map-text", "sentence")
    page.click("#import-start")

    page.wait_for_selector("#import-done", timeout=90_000)
    assert "Imported 3,000 tasks" in page.locator("#import-done").inner_text(), worker.log()
    assert page.locator("#import-rows-checked").inner_text() == "3,000"
    assert page.locator("#import-tasks-written").inner_text() == "3,000"
    job = ImportJob.objects.get(project=project)
    assert (job.state, job.task_count, job.column_map) == ("completed", 3000, {"sentence": "text"})
    assert Task.objects.filter(project=project).count() == 3000
    assert Task.objects.filter(project=project, inner_id=1).get().data["text"] == "Headline 0, with a comma"
    assert not manager.errors


def test_a_file_with_a_bad_row_names_the_row_and_the_field_and_nothing_is_written(manager, project):
    page = manager.page
    open_import(manager, project)
    good = upload_file("good.jsonl", b'{"text": "fine"}\n')
    bad = upload_file("rows.jsonl", b'{"text": "one"}\n\n{"text": "two"}\n{"headline": "no text"}\n')
    page.set_input_files("#import-files", [good, bad])
    page.wait_for_selector("#import-preview:not([hidden])")
    page.click("#import-start")

    error = page.wait_for_selector("#import-error").inner_text()
    assert "rows.jsonl, row 3 (line 4)" in error
    assert "“text”" in error
    assert "Nothing was imported" in error
    assert not Task.objects.filter(project=project).exists()
    assert not page.locator("#import-done").count()

    # A row the browser can read is not enough: a ragged CSV row is named by its line before any upload.
    page.set_input_files("#import-files", [upload_file("ragged.csv", b'text\nok\n"a",b\n')])
    expect(page.locator(".import-messages .notice.error")).to_contain_text("ragged.csv, line 3")
    assert not Task.objects.filter(project=project).exists()
    assert not manager.errors


def test_a_wrong_type_or_a_file_too_large_is_refused_with_a_clear_message(
    open_session, cast, project, settings
):
    settings.TESSERA_MAX_UPLOAD_BYTES = 100
    manager = open_session(cast.users["manager"].email)
    page = manager.page
    open_import(manager, project)
    message = ".import-messages .notice.error"

    page.set_input_files("#import-files", [upload_file("photo.png", b"\x89PNG\r\n\x1a\n")])
    expect(page.locator(message)).to_contain_text("photo.png: this file type cannot be imported")
    page.set_input_files("#import-files", [upload_file("sheet.csv", b"PK\x03\x04\x00\x00binary")])
    expect(page.locator(message)).to_contain_text("sheet.csv does not hold text")
    page.set_input_files("#import-files", [upload_file("tasks.json", b"text\nnot json\n")])
    expect(page.locator(message)).to_contain_text("tasks.json does not look like JSON")
    page.set_input_files("#import-files", [upload_file("huge.csv", b"text\n" + b"x" * 200 + b"\n")])
    expect(page.locator(message)).to_contain_text("huge.csv is 206 B; the limit is 100 B per file")
    assert page.locator("#import-preview").is_hidden()

    # Pasted text is sized the same way.
    page.click(".import-paste summary")
    page.fill("#import-paste", json.dumps([{"text": "x" * 50}, {"text": "y" * 50}]))
    page.click("#import-use-paste")
    expect(page.locator(message)).to_contain_text("the limit is 100 B")
    assert not Task.objects.filter(project=project).exists()
    assert not manager.errors


def test_pasted_csv_is_detected_mapped_and_imported_on_a_phone_in_dark(manager, project):
    page = manager.page
    page.set_viewport_size({"width": 390, "height": 800})
    page.emulate_media(color_scheme="dark")
    open_import(manager, project)
    page.click(".import-paste summary")
    page.fill("#import-paste", "sentence\tlang\nRates held\ten\n金利据え置き\tja\n")
    assert "TSV" in page.locator("#import-format option").first.inner_text()
    page.click("#import-use-paste")
    # Two columns, neither named text: the page asks which one.
    assert page.locator("#import-map-text").input_value() == ""
    assert page.locator("#import-start").is_enabled()
    page.select_option("#import-map-text", "sentence")
    assert "金利据え置き" in page.locator(".import-file tbody").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.drop-zone')).backgroundColor")
        == "rgb(27, 32, 41)"
    )
    page.click("#import-start")
    page.wait_for_selector("#import-done")
    texts = list(Task.objects.filter(project=project).order_by("inner_id").values_list("data", flat=True))
    assert texts == [{"text": "Rates held", "lang": "en"}, {"text": "金利据え置き", "lang": "ja"}]


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_annotator_and_reviewer_get_the_403_page(open_session, cast, project, role):
    session = open_session(cast.users[role].email)
    response = session.page.goto(f"{session.base_url}/projects/{project.pk}/import/")
    assert response is not None and response.status == 403
    assert "Not available to your role" in session.page.inner_text("body")
    assert not session.page.locator("#import-drop").count()


def test_the_same_upload_in_japanese_shows_japanese_messages(open_session, cast, project):
    session = open_session(cast.users["manager"].email, locale="ja-JP")
    page = session.page
    open_import(session, project)
    assert page.locator('a.tab[aria-current="page"]').inner_text() == "インポート"
    page.set_input_files(
        "#import-files", [upload_file("rows.jsonl", b'{"text": "one"}\n{"headline": "no text"}\n')]
    )
    page.wait_for_selector("#import-preview:not([hidden])")
    page.click("#import-start")
    error = page.wait_for_selector("#import-error").inner_text()
    assert "インポートに失敗しました" in error
    assert "rows.jsonl の 2 行目" in error
    assert "何もインポートされていません" in error
    assert not Task.objects.filter(project=project).exists()

    page.set_input_files("#import-files", [upload_file("photo.png", b"\x89PNG")])
    expect(page.locator(".import-messages .notice.error")).to_contain_text(
        "この種類のファイルはインポートできません"
    )

    page.set_input_files("#import-files", [upload_file("headlines.csv", csv_rows(2000))])
    page.wait_for_selector("#import-preview:not([hidden])")
    assert "2,000 行" in page.locator(".import-file").inner_text()
    assert page.locator("#import-map-text").input_value() == ""
    assert "対応する列が選ばれていません" in page.locator(".import-mapping").inner_text()
    page.select_option("#import-map-text", "sentence")
    page.click("#import-start")
    assert "2,000 件のタスクをインポートしました" in page.wait_for_selector("#import-done").inner_text()
    assert page.locator("#import-done a").inner_text() == "データタブで確認する"
    assert Task.objects.filter(project=project).count() == 2000
    assert not session.errors
