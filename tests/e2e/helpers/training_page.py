"""A project's Training tab: what its tests build (a labeled sentiment project, a dataset version built
in-process, a tiny BERT registered as the base model) and how they read its views."""

import json
import random
from pathlib import Path

from django.test import Client
from playwright.sync_api import expect

from annotation.models import JobState
from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_create, dataset_version_run
from tests.conftest import choice
from tests.training.runner_support import tiny_bert
from training.services.base_models import base_model_create

POSITIVE = ["great", "excellent", "wonderful", "superb", "lovely"]
NEGATIVE = ["terrible", "awful", "dreadful", "horrible", "poor"]
NOUNS = ["movie", "meal", "service", "trip", "book", "hotel"]
# A handful of quick steps on a CPU, a metric line each, a checkpoint every two.
QUICK = {"max_steps": "6", "batch_size": "4", "max_length": "24", "logging_steps": "1"}
RUN_TIMEOUT_MS = 240_000


def labeled_sentiment_project(labeling_project, cast, *, count: int = 30, title: str = "Reviews"):
    """A sentiment project whose label one word decides, every task labeled once."""
    rng = random.Random(3)
    rows = []
    for index in range(count):
        label = "Negative" if index % 3 == 0 else "Positive"
        word = rng.choice(NEGATIVE if label == "Negative" else POSITIVE)
        rows.append((f"the {rng.choice(NOUNS)} was {word}", label))
    from tests.e2e.conftest import SENTIMENT

    project = labeling_project(SENTIMENT, [{"text": text} for text, _ in rows], title=title)
    for task, (_, label) in zip(project.tasks.order_by("inner_id"), rows, strict=True):
        annotation_create(task=task, user=cast.users["annotator"], result=choice(label))
    return project


def built_version(project, user, name: str = "reviews v1"):
    body = {
        "name": name,
        "formats": ["text_classification"],
        "splits": {"train": 0.7, "validation": 0.1, "test": 0.2},
        "seed": 1,
        "stratify": True,
    }
    version = dataset_version_create(project=project, user=user, body=body)
    dataset_version_run(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == JobState.COMPLETED, version.error
    return version


def tiny_base_model(organization, data_dir: Path):
    """A two-layer BERT inside the allowed model roots (DATA_DIR/models): trains a step in a blink."""
    folder = data_dir / "models" / "tiny-bert"
    folder.mkdir(parents=True, exist_ok=True)
    tiny_bert(folder)
    return base_model_create(organization=organization, user=None, name="tiny-bert", path=str(folder))


def open_training(session, project, query: str = "") -> None:
    session.page.goto(f"{session.base_url}/projects/{project.pk}/training/{query}")
    session.page.locator(".training-page").wait_for()


def launch_ready(page) -> None:
    page.locator("section.launch[data-state=ready]").wait_for()


def estimate_settled(page) -> None:
    """Wait for the estimate to answer the form as it is now (it is asked a moment after a change)."""
    page.wait_for_timeout(500)
    page.locator(".training-estimate:not([data-state=loading]):not([data-state=idle])").wait_for()


def fill_quick_params(page, **overrides: str) -> None:
    page.locator("details.more-params").evaluate("(node) => { node.open = true; }")
    for name, value in {**QUICK, "save_steps": "2", **overrides}.items():
        page.fill(f"#training-params-{name}", value)


def wait_job_status(page, status: str, timeout: float = RUN_TIMEOUT_MS) -> None:
    expect(page.locator(".job-page")).to_have_attribute("data-status", status, timeout=timeout)


def launch_through_api(user, version, base_model, **params) -> int:
    """A run launched as a script would (``POST /api/training-jobs/``): its job id."""
    client = Client()
    client.force_login(user)
    body = {
        "dataset": version.pk,
        "recipe": "text_classification",
        "base_model": base_model.pk,
        "params": {"batch_size": 4, "max_length": 24, "logging_steps": 1, **params},
        "resources": {"gpus": 1},
    }
    response = client.post("/api/training-jobs/", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]
