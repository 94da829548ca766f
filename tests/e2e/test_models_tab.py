"""The Models tab in a real browser, in English and in Japanese, light and dark: a manager adds a span
rules pre-labeler through the form (a bad regular expression first, refused beside its label with the
server's message), tests it on a task (the spans shown with their text, a character outside the BMP
counted as one), runs it over every task on a real Celery worker that takes the ``prelabel`` queue, and
watches the job complete; the predictions are checked in the database, and the Dashboard shows the
version in its pre-labels table. Screenshots go to TESSERA_SCREENSHOT_DIR (docs/screenshots)."""

import re
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect

from annotation.models import Prediction
from tests.e2e.conftest import NER, SCREENSHOT_DIR
from tests.integration.conftest import (  # noqa: F401 - fixtures
    _redis_url,
    broker_url,
    start_file_broker_worker,
    start_worker,
)
from training.models import Prelabeler, PrelabelJob

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TEXTS = [
    "Acme Bank opened an office in Tokyo for $500.",
    "𠮷野家の東京本社が Acme Bank と提携した。",
    "Nothing to see here.",
]

STRINGS = {
    "en": {
        "locale": "en-US",
        "tab": "Models",
        "create": "Add the pre-labeler",
        "fix": "Not added: fix the field marked below.",
        "test": "Test",
        "run": "Run",
        "all": "All tasks",
        "completed": "Completed",
        "span_rules": "Span rules",
        "dashboard_heading": "Pre-labels by model version",
        "first_fit_failed": "Its fit on 7 labeled tasks failed",
    },
    "ja": {
        "locale": "ja-JP",
        "tab": "モデル",
        "create": "事前ラベラーを追加",
        "fix": "追加されていません。下の印の付いた項目を直してください。",
        "test": "試す",
        "run": "実行",
        "all": "すべてのタスク",
        "completed": "完了",
        "span_rules": "スパンルール",
        "dashboard_heading": "モデルのバージョン別の事前ラベル",
        "first_fit_failed": "ラベル付きタスク 7 件での学習に失敗しました",
    },
}


@pytest.fixture
def prelabel_worker(request, transactional_db):
    """A real Celery worker on the ``prelabel`` and ``default`` queues: on Redis where it answers, else on
    the demo's file broker, so the test never skips for want of Redis."""
    try:
        client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.close()
        starter = request.getfixturevalue("start_worker")
    except redis.RedisError:
        starter = request.getfixturevalue("start_file_broker_worker")
    return starter(queues="prelabel,default")


def rule(page, label: str):
    return page.locator(f'fieldset.rule[data-label="{label}"]')


@pytest.mark.parametrize(("language", "theme"), [("en", "light"), ("ja", "dark")])
def test_a_manager_adds_tests_and_runs_a_span_rules_prelabeler(
    open_session, cast, labeling_project, prelabel_worker, language, theme
):
    words = STRINGS[language]
    project = labeling_project(NER, [{"text": text} for text in TEXTS], title="<b>Entities</b>")
    session = open_session(cast.users["manager"].email, locale=words["locale"])
    page = session.page
    page.emulate_media(color_scheme=theme)
    page.goto(f"{session.base_url}/projects/{project.pk}/models/")
    page.wait_for_selector(".models-page[data-state=ready]")
    expect(page.locator(".tabs a[aria-current=page]")).to_have_text(words["tab"])
    # The project's title is text, not markup.
    expect(page.locator(".project-head h1")).to_have_text("<b>Entities</b>")

    # The form starts on span rules for a Labels project: one box of terms and patterns per label.
    expect(page.locator("#prelabeler-backend")).to_have_value("span_rules")
    expect(page.locator("#prelabeler-backend option:checked")).to_have_text(words["span_rules"])
    assert page.locator("fieldset.rule").count() == 4

    page.fill("#prelabeler-title", "Gazetteer <script>")
    rule(page, "ORG").locator('[data-setting$=".terms"]').fill("Acme Bank\n𠮷野家")
    rule(page, "LOC").locator('[data-setting$=".terms"]').fill("Tokyo\n東京")
    rule(page, "MONEY").locator('[data-setting$=".patterns"]').fill("(")  # not a regular expression
    page.get_by_role("button", name=words["create"]).click()
    expect(page.locator("#prelabeler-form-status")).to_have_text(words["fix"])
    refusal = page.locator(".rules .field-error:not(:empty)")
    expect(refusal).to_have_count(1)
    assert "{" not in refusal.inner_text()  # the server's sentence, not its JSON
    assert not Prelabeler.objects.filter(project=project).exists()

    rule(page, "MONEY").locator('[data-setting$=".patterns"]').fill(r"\$\d+")
    page.get_by_role("button", name=words["create"]).click()
    card = page.locator("article.prelabeler")
    expect(card).to_have_count(1)
    expect(card.locator("h3")).to_have_text("Gazetteer <script>")
    prelabeler = Prelabeler.objects.get(project=project)
    assert prelabeler.backend == "span_rules" and prelabeler.title == "Gazetteer <script>"
    assert prelabeler.settings["rules"]["ORG"]["terms"] == ["Acme Bank", "𠮷野家"]
    assert prelabeler.settings["rules"]["MONEY"]["patterns"] == [r"\$\d+"]

    # Test on the Japanese task: spans with their text; 𠮷 counts as one code point.
    second = project.tasks.get(inner_id=2)
    card.locator("[data-test=task]").fill(str(second.pk))
    card.get_by_role("button", name=words["test"], exact=True).click()
    regions = card.locator(".test-result .regions li")
    expect(regions).to_have_count(3)
    listed = " ".join(regions.all_inner_texts())
    assert "𠮷野家" in listed and "東京" in listed and "Acme Bank" in listed, listed
    # 𠮷野家 is characters 0 to 3 (UTF-16 would say 0 to 4).
    assert re.search(r"0\s*[–〜]\s*3\b", regions.filter(has_text="𠮷野家").inner_text())
    assert not Prediction.objects.filter(task__project=project).exists()  # a test writes nothing

    # Run over every task, on the worker; the job's row follows it to the end.
    card.locator("[data-run=tasks]").select_option("all")
    card.get_by_role("button", name=words["run"], exact=True).click()
    job_row = page.locator("table.jobs tbody tr").first
    expect(job_row).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(job_row.locator("td.status")).to_contain_text(words["completed"])
    job = PrelabelJob.objects.get(prelabeler=prelabeler)
    assert (job.state, job.tasks_done, job.total) == ("completed", 3, 3)
    expect(job_row.locator("[data-counter=written]")).to_have_text(str(job.predictions_written))
    written = Prediction.objects.filter(task__project=project, prelabeler=prelabeler)
    # Every task answered (the third with no span, which the runner may keep as an empty prediction).
    assert written.count() == job.predictions_written >= 2
    first = written.get(task__inner_id=1)
    assert {(r["value"]["text"], r["value"]["labels"][0]) for r in first.result} == {
        ("Acme Bank", "ORG"),
        ("Tokyo", "LOC"),
        ("$500", "MONEY"),
    }
    # The page in both themes (the theme is CSS only: switching it redraws nothing).
    for shown in (theme, "dark" if theme == "light" else "light"):
        page.emulate_media(color_scheme=shown)
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"models-{language}-{shown}.png"), full_page=True)

    # The Dashboard lists the version that wrote them.
    page.goto(f"{session.base_url}/projects/{project.pk}/dashboard/")
    page.wait_for_selector(".dashboard[data-state=ready]")
    expect(page.locator("#dash-prelabels h3")).to_have_text(words["dashboard_heading"])
    version_row = page.locator("table.prelabels tbody tr")
    expect(version_row).to_have_count(1)
    expect(version_row.locator("th")).to_have_text(prelabeler.model_version or job.model_version)
    # A learning pre-labeler that never fitted says why its first fit failed, the server's words as text.
    Prelabeler.objects.create(
        project=project,
        backend="embedding_classifier",
        title="MiniLM",
        settings={},
        created_by=prelabeler.created_by,
        fit_info={"state": "failed", "error_message": "<img src=x onerror=alert(1)> one class", "labels": 7},
    )
    page.goto(f"{session.base_url}/projects/{project.pk}/models/")
    page.wait_for_selector(".models-page[data-state=ready]")
    note = page.locator("article.prelabeler [data-test=first-fit]")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("<img src=x onerror=alert(1)> one class")
    expect(note).to_contain_text(words["first_fit_failed"])
    assert page.locator("article.prelabeler img").count() == 0
    # The refused create is the one failed request the browser logs.
    unexpected = [entry for entry in session.console_errors if "status of 400" not in entry]
    assert session.errors == [] and unexpected == [], (session.errors, session.console_errors)
