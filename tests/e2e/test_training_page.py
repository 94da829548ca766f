"""The Training tab in a real browser, in English and Japanese, light and dark, against the real API and
a real Celery worker on the ``gpu`` queue training a tiny BERT on the CPU: a manager fills in the launch
form while its live estimate follows (a learning rate out of range is refused beside its field with the
server's sentence), launches a run, watches it on its page (status, loss chart, events, log download)
until it completes with a model version and its evaluation (accuracy, macro-F1, the confusion matrix),
compares it with a second run, opens the model in the registry (lineage, files) and promotes it to the
project's pre-labeler. A run is cancelled from its page. A reviewer follows runs and models but launches,
cancels and promotes nothing; an annotator has no Training tab. The run's name is markup-looking text and
stays text. Screenshots go to TESSERA_SCREENSHOT_DIR (docs/screenshots)."""

import shutil
from pathlib import Path

import pytest
import redis
from playwright.sync_api import expect

from annotation.models import JobState
from tests.e2e.conftest import SCREENSHOT_DIR
from tests.e2e.helpers.training_page import (
    RUN_TIMEOUT_MS,
    built_version,
    estimate_settled,
    fill_quick_params,
    labeled_sentiment_project,
    launch_ready,
    launch_through_api,
    open_training,
    tiny_base_model,
    wait_job_status,
)
from tests.integration.conftest import (  # noqa: F401 - fixtures
    _redis_url,
    broker_url,
    start_file_broker_worker,
    start_worker,
)
from training.models import ModelVersion, Prelabeler, TrainingJob

pytestmark = [pytest.mark.e2e, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

XSS_NAME = "<img src=x onerror=alert(1)>"

STRINGS = {
    "en": {
        "locale": "en-US",
        "tab": "Training",
        "launch": "Launch",
        "fix": "Not launched: fix the field marked below.",
        "completed": "Completed",
        "cancelled": "Cancelled",
        "accuracy": "Accuracy",
        "macro_f1": "Macro-F1",
        "cancel": "Cancel the run",
        "promote": "Make it the project's pre-labeler",
        "compare": "Compare the two picked runs",
    },
    "ja": {
        "locale": "ja-JP",
        "tab": "学習",
        "launch": "開始",
        "fix": "開始されていません。下の印の付いた項目を直してください。",
        "completed": "完了",
        "cancelled": "キャンセル済み",
        "accuracy": "正解率",
        "macro_f1": "マクロ F1",
        "cancel": "学習をキャンセル",
        "promote": "プロジェクトの事前ラベル付けにする",
        "compare": "選んだ 2 つの学習を比較",
    },
}


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch):
    """The worker's data folder is the test's: dataset files, model roots, run folders and the registry."""
    settings.DATA_DIR = tmp_path
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    settings.TESSERA_MODEL_ROOTS = [str(tmp_path / "models")]
    # The runner inherits the worker's environment: one torch thread, as the machine's cores are shared.
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


@pytest.fixture
def gpu_worker_starter(request, data_dir, transactional_db):
    """Starts a real Celery worker on the ``gpu`` queue: on Redis where it answers, else on the demo's file
    broker. Launches publish to that broker from the moment this fixture is set up."""
    try:
        client = redis.Redis.from_url(_redis_url(), socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.close()
        starter = request.getfixturevalue("start_worker")
    except redis.RedisError:
        starter = request.getfixturevalue("start_file_broker_worker")
    return lambda: starter(
        queues="gpu", env={"TESSERA_TRAINING_HEARTBEAT_SECONDS": "1", "OMP_NUM_THREADS": "1"}
    )


@pytest.fixture
def gpu_worker(gpu_worker_starter):
    return gpu_worker_starter()


def _screenshot(page, name: str, language: str, theme: str) -> None:
    """The page in both themes, as docs/screenshots/training-<view>-<language>-<theme>.png."""
    for shown in (theme, "dark" if theme == "light" else "light"):
        page.emulate_media(color_scheme=shown)
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            page.screenshot(
                path=str(Path(SCREENSHOT_DIR) / f"training-{name}-{language}-{shown}.png"), full_page=True
            )
    page.emulate_media(color_scheme=theme)


@pytest.mark.parametrize(("language", "theme"), [("en", "light"), ("ja", "dark")])
def test_a_manager_launches_watches_compares_and_promotes_a_run(
    open_session, cast, labeling_project, data_dir, gpu_worker, language, theme
):
    words = STRINGS[language]
    project = labeled_sentiment_project(labeling_project, cast)
    version = built_version(project, cast.users["manager"])
    base_model = tiny_base_model(cast.org, data_dir)

    session = open_session(cast.users["manager"].email, locale=words["locale"])
    page = session.page
    page.emulate_media(color_scheme=theme)
    # The way in: a completed version in the Datasets tab, and its link to the launch form.
    page.goto(f"{session.base_url}/projects/{project.pk}/datasets/?version={version.pk}")
    page.locator(
        f".version-detail[data-version-id='{version.pk}'][data-status=completed] a.train-link"
    ).click()
    launch_ready(page)
    expect(page.locator(".tabs a[aria-current=page]")).to_have_text(words["tab"])

    # The form offers the completed version and the one encoder; the parameters come with their defaults.
    expect(page.locator("#training-dataset")).to_have_value(str(version.pk))
    expect(page.locator("#training-recipe")).to_have_value("text_classification")
    expect(page.locator("#training-base_model")).to_have_value(str(base_model.pk))
    expect(page.locator("#training-params-learning_rate")).to_have_value("0.00005")
    # The estimate follows the form: parameters, tokens, FLOPs, GPU-hours, memory and whether it fits.
    estimate_settled(page)
    estimate = page.locator(".training-estimate[data-state=ready]")
    for row in ("parameters", "tokens", "flops", "gpu_hours", "memory", "tokens_per_parameter"):
        expect(estimate.locator(f"[data-estimate={row}] dd")).not_to_be_empty()
    expect(estimate.locator("[data-estimate=memory] .fit-badge")).to_have_attribute("data-fits", "true")
    hours_before = estimate.locator("[data-estimate=gpu_hours] strong").inner_text()
    page.fill("#training-resources-gpus", "2")
    page.select_option("#training-resources-gpu_type", "L4")
    estimate_settled(page)
    expect(
        page.locator(".training-estimate[data-state=ready] [data-estimate=gpu_hours] small")
    ).to_contain_text("L4")
    assert page.locator("[data-estimate=gpu_hours] strong").inner_text() != hours_before
    # Sharded over the two GPUs: the memory is per GPU, and says over how many the states are split.
    expect(page.locator("[data-estimate=memory] small.sharded")).to_have_count(0)
    page.select_option("#training-resources-strategy", "fsdp")
    estimate_settled(page)
    expect(
        page.locator(".training-estimate[data-state=ready] [data-estimate=memory] small.sharded")
    ).to_contain_text("2")
    page.select_option("#training-resources-strategy", "ddp")
    page.fill("#training-resources-gpus", "1")
    page.select_option("#training-resources-gpu_type", "H100")

    # A learning rate out of range: the server's sentence beside the field, in the estimate and on Launch.
    page.fill("#training-params-learning_rate", "5")
    estimate_settled(page)
    error = page.locator("[data-field='params.learning_rate'] .field-error")
    expect(error).not_to_be_empty()
    page.get_by_role("button", name=words["launch"], exact=True).click()
    expect(page.locator("#training-form-status")).to_have_text(words["fix"])
    assert "{" not in error.inner_text()
    assert not TrainingJob.objects.filter(project=project).exists()

    page.fill("#training-params-learning_rate", "0.001")
    fill_quick_params(page)
    estimate_settled(page)
    expect(error).to_be_empty()
    page.fill("#training-name", XSS_NAME)
    _screenshot(page, "launch", language, theme)
    page.get_by_role("button", name=words["launch"], exact=True).click()
    page.locator(".job-page[data-state=ready]").wait_for()
    first = TrainingJob.objects.get(project=project)
    assert first.params["max_steps"] == 6 and first.params["learning_rate"] == 0.001
    assert (first.resources["gpus"], first.resources["strategy"]) == (1, "ddp")
    assert f"job={first.pk}" in page.url

    # The run's page follows it to the end: the loss drawn, events listed, the model and its evaluation.
    wait_job_status(page, "completed")
    expect(page.locator(".job-head .status-pill")).to_have_text(words["completed"])
    loss = page.locator("figure.line-chart[data-chart=loss]")
    assert int(loss.get_attribute("data-points")) >= 3
    assert loss.locator("path.series").count() >= 1
    # The same values as a table, for keyboards and screen readers: a row per logged step.
    loss.locator("details.chart-values summary").click()
    expect(loss.locator("details.chart-values tbody tr")).to_have_count(6)
    expect(page.locator("table.events tbody tr").first).to_be_visible()
    assert page.locator("table.events tr[data-kind=completed]").count() >= 1
    # The name given at launch is in the events' details, as text.
    expect(page.locator("table.events td.details", has_text=XSS_NAME).first).to_be_visible()
    # Nested details (the evaluation's metrics, the runner's command) read as pairs, never as JSON.
    expect(page.locator("table.events td.details", has_text="metrics.accuracy:").first).to_be_visible()
    assert page.locator("table.events td.details", has_text='{"').count() == 0
    assert page.locator(".job-page img").count() == 0 and session.dialogs == []
    model = ModelVersion.objects.get(job=first)
    expect(page.locator(f"[data-fact=model_version] a[data-model-version='{model.pk}']")).to_have_text(
        f"{model.name} {model.version}"
    )
    tiles = page.locator(".job-evaluation .metric-tiles")
    expect(tiles.locator("[data-metric=accuracy] dt")).to_have_text(words["accuracy"])
    expect(tiles.locator("[data-metric=macro_f1] dt")).to_have_text(words["macro_f1"])
    matrix = page.locator(".job-evaluation table.confusion-matrix")
    expect(matrix.locator("tbody tr[data-label=Positive]")).to_have_count(1)
    expect(matrix.locator("tbody tr[data-label=Negative]")).to_have_count(1)
    with page.expect_download() as download:
        page.locator(".job-head a.download").click()
    assert Path(download.value.path()).read_bytes(), "the log is empty"
    _screenshot(page, "run", language, theme)
    # On a phone the run's page fits the screen's width (charts shrink, tables scroll in their boxes).
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1100, "height": 760})

    # A second run, launched through the API as a script would, then the two compared.
    second = launch_through_api(cast.users["manager"], version, base_model, max_steps=4, learning_rate=0.0005)
    open_training(session, project)
    rows = page.locator("table.training-jobs tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f"tr[data-job-id='{second}']")).to_have_attribute(
        "data-status", "completed", timeout=RUN_TIMEOUT_MS
    )
    expect(page.locator(f"tr[data-job-id='{first.pk}'] td.loss")).not_to_be_empty()
    page.locator(f"input[data-pick='{first.pk}']").check()
    page.locator(f"input[data-pick='{second}']").check()
    page.get_by_role("link", name=words["compare"]).click()
    page.locator(".compare-page[data-state=ready]").wait_for()
    chart = page.locator("figure.line-chart[data-chart=compare-loss]")
    assert chart.locator("path.series").count() >= 2
    expect(page.locator("table.compare-figures tr[data-figure='eval.accuracy'] td")).to_have_count(2)
    expect(page.locator("table.compare-figures tr[data-figure='param.learning_rate']")).to_have_class(
        "differs"
    )
    _screenshot(page, "compare", language, theme)

    # The registry: both versions; the first one's page, its lineage and files, and Promote.
    open_training(session, project, "?view=registry")
    expect(page.locator("table.model-versions tbody tr")).to_have_count(2)
    page.locator(f"tr[data-model-id='{model.pk}'] th a").click()
    page.locator(".model-page[data-state=ready]").wait_for()
    expect(page.locator(f"[data-fact=dataset] a[href$='?version={version.pk}']")).to_be_visible()
    expect(page.locator(f"[data-fact=job] a[href$='?job={first.pk}']")).to_be_visible()
    assert page.locator("table.model-files tbody tr").count() >= 2
    expect(page.locator(".model-page .metric-tiles [data-metric=accuracy]")).to_be_visible()
    page.get_by_role("button", name=words["promote"]).click()
    page.locator("form.promote-form[data-state=promoted]").wait_for()
    prelabeler = Prelabeler.objects.get(project=project, backend="registry_model", is_active=True)
    assert (prelabeler.settings["model"], prelabeler.settings["version"]) == (model.name, model.version)
    expect(page.locator(".promoted-line")).to_contain_text(project.title)
    _screenshot(page, "model", language, theme)
    unexpected = [entry for entry in session.console_errors if "status of 400" not in entry]
    assert session.errors == [] and unexpected == [], (session.errors, session.console_errors)

    # A reviewer follows the runs and reads the models, but launches, cancels and promotes nothing.
    reviewer = open_session(cast.users["reviewer"].email, locale=words["locale"])
    open_training(reviewer, project)
    expect(reviewer.page.locator("table.training-jobs tbody tr")).to_have_count(2)
    assert reviewer.page.locator(".subtab[data-view=launch]").count() == 0
    open_training(reviewer, project, f"?job={first.pk}")
    reviewer.page.locator(".job-page[data-state=ready]").wait_for()
    assert reviewer.page.locator("[data-action=cancel]").count() == 0
    open_training(reviewer, project, f"?model={model.pk}")
    reviewer.page.locator(".model-page[data-state=ready]").wait_for()
    assert reviewer.page.locator("form.promote-form").count() == 0
    assert reviewer.errors == [] and reviewer.dialogs == []


def test_a_manager_cancels_a_run_from_its_page(open_session, cast, labeling_project, data_dir, gpu_worker):
    project = labeled_sentiment_project(labeling_project, cast, title="Long run")
    version = built_version(project, cast.users["manager"])
    base_model = tiny_base_model(cast.org, data_dir)
    job = TrainingJob.objects.get(
        pk=launch_through_api(cast.users["manager"], version, base_model, max_steps=100000)
    )
    session = open_session(cast.users["manager"].email)
    page = session.page
    open_training(session, project, f"?job={job.pk}")
    # Cancel once the runner trains: a metric line has come back.
    page.wait_for_function(
        "() => Number(document.querySelector('figure[data-chart=loss]')?.dataset.points || 0) > 0",
        timeout=RUN_TIMEOUT_MS,
    )
    page.locator("[data-action=cancel]").click()
    page.locator("dialog.confirm").get_by_role("button", name="Cancel the run").click()
    wait_job_status(page, "cancelled", timeout=120_000)
    expect(page.locator(".job-head .status-pill")).to_have_text("Cancelled")
    assert page.locator("[data-action=cancel]").count() == 0
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED and not ModelVersion.objects.filter(job=job).exists()
    assert session.errors == []


def test_a_failed_run_shows_its_reason(open_session, cast, labeling_project, data_dir, gpu_worker_starter):
    """The base model's folder is gone before a worker takes the run: it fails before any training, and its
    page says why."""
    project = labeled_sentiment_project(labeling_project, cast, title="Doomed")
    version = built_version(project, cast.users["manager"])
    base_model = tiny_base_model(cast.org, data_dir)
    job_id = launch_through_api(cast.users["manager"], version, base_model, max_steps=2)
    shutil.rmtree(data_dir / "models" / "tiny-bert")
    gpu_worker_starter()
    session = open_session(cast.users["manager"].email, locale="ja-JP")
    page = session.page
    open_training(session, project, f"?job={job_id}")
    wait_job_status(page, "failed", timeout=120_000)
    expect(page.locator(".job-head .status-pill")).to_have_text("失敗")
    reason = page.locator(".job-head .notice.error")
    expect(reason).to_contain_text("失敗:")
    assert len(reason.inner_text()) > len("失敗: ") and "{" not in reason.inner_text()
    assert page.locator("[data-action=cancel]").count() == 0
    expect(page.locator("[data-fact=model_version] .muted")).to_be_visible()
    assert session.errors == []


def test_an_annotator_has_no_training_tab(open_session, cast, labeling_project):
    from tests.e2e.conftest import SENTIMENT

    project = labeling_project(SENTIMENT, [{"text": "fine"}], title="Hidden")
    session = open_session(cast.users["annotator"].email)
    session.page.goto(f"{session.base_url}/projects/{project.pk}/training/")
    assert session.page.locator(".training-page").count() == 0
    assert session.page.locator(".tabs a[href$='/training/']").count() == 0


def test_a_chat_model_links_its_evaluation_project_and_is_not_offered_for_promotion(
    open_session, cast, labeling_project
):
    """A generative model's page: perplexity, the evaluation project where reviewers rate its answers, and
    no Promote (only classification and NER models pre-label). The registry row is the one a run of the
    sft recipe registers."""
    from tests.e2e.conftest import SENTIMENT

    project = labeling_project(SENTIMENT, [{"text": "fine"}], title="Assistant")
    evaluation = labeling_project(SENTIMENT, [{"text": "an answer"}], title="Assistant v1 evaluation")
    model = ModelVersion.objects.create(
        organization=cast.org,
        project=project,
        name=f"project-{project.pk}-sft",
        version="v1",
        recipe="sft",
        task_kind="causal_lm",
        base_model_name="tiny-llama",
        metrics={"perplexity": 12.5, "loss": 2.526},
        files=[{"path": "model.safetensors", "bytes": 2048, "sha256": "ab" * 32}],
        lineage={"dataset_name": XSS_NAME, "counts": {"total": 4, "splits": {"train": 3, "test": 1}}},
        evaluation_project=evaluation,
    )
    session = open_session(cast.users["manager"].email)
    page = session.page
    open_training(session, project, "?view=registry")
    row = page.locator(f"table.model-versions tr[data-model-id='{model.pk}']")
    expect(row.locator("td.headline")).to_contain_text("Perplexity")
    row.locator("th a").click()
    page.locator(".model-page[data-state=ready]").wait_for()
    expect(page.locator(".metric-tiles [data-metric=perplexity] dd")).to_have_text("12.5")
    expect(page.locator(f"a[data-evaluation-project='{evaluation.pk}']")).to_have_attribute(
        "href", f"/projects/{evaluation.pk}/"
    )
    expect(page.locator("section.promote")).to_contain_text("evaluated by people")
    assert page.locator("form.promote-form").count() == 0
    # The lineage's names are text.
    expect(page.locator("[data-lineage=tasks] dd")).to_contain_text("4")
    page.locator("details.all-lineage summary").click()
    expect(page.locator("[data-fact=dataset_name] dd")).to_have_text(XSS_NAME)
    assert page.locator(".model-page img").count() == 0
    # On a phone the page fits the screen's width (tables scroll in their own boxes).
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert session.errors == [] and session.dialogs == []
