"""The Datasets tab in a real browser, in English and in Japanese, light and dark: a manager fills in the
build form while its live preview follows (splits that do not sum to 1 are refused beside the field with
the server's sentence), builds a version with exact dedup and e-mail redaction on a real Celery worker,
watches it complete, reads its card and step reports, downloads a split, builds a second version and
compares the two, then deletes one. The version's name is markup-looking text and stays text. A reviewer
sees the versions and their downloads but no build form and no Delete. Screenshots go to
TESSERA_SCREENSHOT_DIR (docs/screenshots)."""

import json
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from playwright.sync_api import expect

from annotation.services.annotations import annotation_create
from exports.models import DatasetVersion
from tests.conftest import choice
from tests.e2e.conftest import SCREENSHOT_DIR, SENTIMENT
from tests.e2e.helpers.datasets_page import (
    download_file,
    open_datasets,
    preview_ready,
    preview_totals,
    set_splits,
    version_row,
    wait_completed,
)
from tests.exports import dataset_test_formats  # noqa: F401 - the live server (this process) knows test_jsonl
from tests.integration.conftest import (  # noqa: F401 - fixtures
    _redis_url,
    broker_url,
    start_file_broker_worker,
    start_worker,
)

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

XSS_NAME = "<img src=x onerror=alert(1)>"
TEXTS = [f"Quarterly note {n}: {'profit rose' if n % 2 else 'losses widened'}." for n in range(10)]

STRINGS = {
    "en": {
        "locale": "en-US",
        "tab": "Datasets",
        "build": "Build the version",
        "fix": "Not built: fix the field marked below.",
        "completed": "Completed",
        "compare": "Compare",
        "added": "Added",
        "card": "Dataset card",
        "delete": "Delete",
        "removed_none": "0 removed",
        "email": "E-mail addresses: 0",
    },
    "ja": {
        "locale": "ja-JP",
        "tab": "データセット",
        "build": "バージョンを作成",
        "fix": "作成されていません。下の印の付いた項目を直してください。",
        "completed": "完了",
        "compare": "比較",
        "added": "追加",
        "card": "データセットカード",
        "delete": "削除",
        "removed_none": "0 件を除外",
        "email": "メールアドレス: 0",
    },
}


@pytest.fixture
def dataset_worker(request, transactional_db):
    """A real Celery worker on the ``default`` queue that knows the test formats: on Redis where it answers,
    else on the demo's file broker, so the test never skips for want of Redis."""
    try:
        client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.close()
        starter = request.getfixturevalue("start_worker")
    except redis.RedisError:
        starter = request.getfixturevalue("start_file_broker_worker")
    return starter(queues="default", include="tests.exports.dataset_test_formats")


def _screenshots(page, language: str, theme: str) -> None:
    for shown in (theme, "dark" if theme == "light" else "light"):
        page.emulate_media(color_scheme=shown)
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(Path(SCREENSHOT_DIR) / f"datasets-{language}-{shown}.png"), full_page=True
            )
    page.emulate_media(color_scheme=theme)


@pytest.mark.parametrize(("language", "theme"), [("en", "light"), ("ja", "dark")])
def test_a_manager_builds_reads_downloads_and_compares_dataset_versions(
    open_session, cast, labeling_project, dataset_worker, language, theme
):
    words = STRINGS[language]
    project = labeling_project(SENTIMENT, [{"text": text} for text in TEXTS], title="Notes")
    tasks = list(project.tasks.order_by("inner_id"))
    for index, task in enumerate(tasks[:8]):
        annotation_create(
            task=task, user=cast.users["annotator"], result=choice("Positive" if index % 2 else "Negative")
        )

    session = open_session(cast.users["manager"].email, locale=words["locale"])
    page = session.page
    page.emulate_media(color_scheme=theme)
    open_datasets(session, project)
    expect(page.locator(".tabs a[aria-current=page]")).to_have_text(words["tab"])

    # The preview counts what the recipe selects now: the eight labeled tasks, over three splits.
    preview_ready(page)
    totals = preview_totals(page)
    assert set(totals) == {"train", "validation", "test"} and sum(totals.values()) == 8, totals
    expect(page.locator(".dataset-preview tbody tr[data-label]")).to_have_count(2)
    # Formats that cannot hold a Choices project's answers are not offered, and say why.
    assert page.locator("#dataset-formats-COCO").count() == 0
    expect(page.locator(".unfit-formats li[data-format=COCO]")).to_have_count(1)
    expect(page.locator("#dataset-formats-text_classification")).to_be_enabled()

    # Ratios that do not add up: the server's sentence beside the splits, in the preview and on Build.
    set_splits(page, "0.9", "0.1", "0.1")
    page.locator("#dataset-formats-test_jsonl").check()
    preview_ready(page)
    splits_error = page.locator("fieldset[data-field=splits] .field-error")
    expect(splits_error).to_contain_text("1.1")
    page.get_by_role("button", name=words["build"]).click()
    expect(page.locator("#dataset-form-status")).to_have_text(words["fix"])
    assert "{" not in splits_error.inner_text()  # a sentence, not the error's JSON
    assert not DatasetVersion.objects.filter(project=project).exists()

    # Two splits: the preview follows, with no test column.
    set_splits(page, "0.75", "0.25", "0")
    preview_ready(page)
    expect(splits_error).to_be_empty()
    assert set(preview_totals(page)) == {"train", "validation"}

    page.fill("#dataset-name", XSS_NAME)
    page.locator("#dataset-stratify-on").uncheck()
    page.locator("#dataset-dedup-exact-on").check()
    page.locator("#dataset-redact-email").check()
    page.get_by_role("button", name=words["build"]).click()
    page.locator("form.dataset-form[data-state=started]").wait_for()
    first = DatasetVersion.objects.get(project=project)
    wait_completed(page, first.pk)
    row = version_row(page, first.pk)
    expect(row.locator("td.status")).to_contain_text(words["completed"])
    # The name is text: no element was made from it, no script ran.
    expect(row.locator("th button")).to_have_text(XSS_NAME)
    assert page.locator(".datasets-page img").count() == 0
    assert session.dialogs == []

    detail = page.locator(".version-detail")
    first.refresh_from_db()
    assert first.recipe["splits"] == {"train": 0.75, "validation": 0.25}
    assert first.recipe["stratify"] is False and first.recipe["formats"] == ["test_jsonl"]
    assert first.recipe["dedup"]["exact"] is True and first.recipe["redact"]["kinds"] == ["email"]
    # Counts per split and label, the step reports, the files and the card.
    split_totals = detail.locator("table.split-counts tr.total td[data-split]")
    assert sum(int(split_totals.nth(i).inner_text()) for i in range(split_totals.count())) == 8
    # Each curation step's report: nothing to remove or redact in these notes, said as such.
    expect(detail.locator(".steps li[data-step]")).to_have_count(2)
    expect(detail.locator(".steps li[data-step=dedup_exact]")).to_contain_text(words["removed_none"])
    expect(detail.locator(".steps li[data-step=redact]")).to_contain_text(words["email"])
    card = detail.locator("article.dataset-card")
    expect(card).to_be_visible()
    assert card.locator("h3, h4, h5").count() >= 1
    # The card names the version in its title; its Markdown is drawn safely, the name as text.
    assert XSS_NAME in card.inner_text() and card.locator("img").count() == 0
    expect(detail.locator("h4", has_text=words["card"])).to_be_visible()

    name, body = download_file(page, "test_jsonl", "train")
    assert name.startswith(f"dataset-{first.pk}-")
    records = [json.loads(line) for line in body.decode().splitlines()]
    train_file = next(f for f in first.files if f["format"] == "test_jsonl" and f["split"] == "train")
    assert len(records) == first.counts["splits"]["train"] and len(body) == train_file["bytes"]
    assert {record["split"] for record in records} == {"train"}

    # A ninth labeled task, a second version, and the comparison: one task added.
    annotation_create(task=tasks[8], user=cast.users["annotator"], result=choice("Neutral"))
    page.fill("#dataset-name", "second")
    page.get_by_role("button", name=words["build"]).click()
    page.locator("form.dataset-form[data-state=started]").wait_for()
    second = DatasetVersion.objects.filter(project=project).exclude(pk=first.pk).get()
    wait_completed(page, second.pk)
    expect(page.locator("#compare-from")).to_have_value(str(first.pk))
    expect(page.locator("#compare-to")).to_have_value(str(second.pk))
    page.get_by_role("button", name=words["compare"], exact=True).click()
    added = page.locator(".diff-part[data-part=added]")
    expect(added.locator(".diff-count")).to_have_text("1")
    expect(added).to_contain_text(str(tasks[8].pk))
    expect(added.locator("dt")).to_have_text(words["added"])
    _screenshots(page, language, theme)

    # Delete asks first; the version and its row go.
    version_row(page, second.pk).locator("[data-action=delete]").click()
    dialog = page.locator("dialog.confirm")
    dialog.get_by_role("button", name=words["delete"]).click()
    expect(version_row(page, second.pk)).to_have_count(0)
    assert not DatasetVersion.objects.filter(pk=second.pk).exists()
    unexpected = [entry for entry in session.console_errors if "status of 400" not in entry]
    assert session.errors == [] and unexpected == [], (session.errors, session.console_errors)

    # A reviewer reads the versions and downloads them, but builds and deletes nothing.
    reviewer = open_session(cast.users["reviewer"].email, locale=words["locale"])
    open_datasets(reviewer, project, f"?version={first.pk}")
    expect(reviewer.page.locator("table.versions tbody tr")).to_have_count(1)
    expect(version_row(reviewer.page, first.pk).locator("th button")).to_have_text(XSS_NAME)
    assert reviewer.page.locator(".dataset-form").count() == 0
    assert reviewer.page.locator("[data-action=delete]").count() == 0
    wait_completed(reviewer.page, first.pk)
    _, reviewer_body = download_file(reviewer.page, "test_jsonl", "train")
    assert reviewer_body == body
    assert reviewer.errors == [] and reviewer.dialogs == []


def test_an_annotator_has_no_datasets_tab(open_session, cast, labeling_project):
    project = labeling_project(SENTIMENT, [{"text": TEXTS[0]}], title="Hidden")
    session = open_session(cast.users["annotator"].email)
    session.page.goto(f"{session.base_url}/projects/{project.pk}/datasets/")
    assert session.page.locator(".datasets-page").count() == 0
    assert session.page.locator(".tabs a[href$='/datasets/']").count() == 0


def test_the_data_tables_filter_goes_to_the_build_form(open_session, cast, labeling_project):
    """No worker: the preview alone shows that the filter travelled and the server applied it."""
    project = labeling_project(SENTIMENT, [{"text": text} for text in TEXTS], title="Filtered")
    for index, task in enumerate(project.tasks.order_by("inner_id")[:8]):
        annotation_create(
            task=task, user=cast.users["annotator"], result=choice("Positive" if index % 2 else "Negative")
        )
    session = open_session(cast.users["manager"].email)
    page = session.page
    rows = json.dumps([{"column": "data.text", "operator": "contains", "value": "profit"}])
    page.goto(f"{session.base_url}/projects/{project.pk}/data/?f={quote(rows)}")
    link = page.get_by_role("link", name="Build a dataset from this filter")
    expect(link).to_be_visible()
    link.click()
    page.locator(".datasets-page[data-state=ready]").wait_for()
    expect(page.get_by_label("Tasks that match the data table's filter")).to_be_checked()
    preview_ready(page)
    # Of the eight labeled notes, the four that say "profit" (all labeled Positive).
    assert sum(preview_totals(page).values()) == 4
    expect(page.locator(".dataset-preview tbody tr[data-label]")).to_have_count(1)
    page.get_by_label("All tasks").check()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.dataset-preview tr.total td')]"
        ".reduce((sum, cell) => sum + Number(cell.textContent), 0) === 8"
    )
    # On a phone the page fits the screen's width (tables scroll in their own boxes).
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert session.errors == []
