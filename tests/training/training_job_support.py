"""What the training job tests build: a sentiment project labeled so that one word decides the label, a
dataset version of it built in-process by exports' services, and base models (MiniLM, or a tiny BERT
inside the allowed model roots for runs that must be quick or interrupted)."""

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

from annotation.models import JobState
from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_create, dataset_version_run
from exports.models import DatasetVersion
from tests.conftest import choice
from tests.training.runner_support import tiny_bert
from training.models import TrainingJob

POSITIVE = ["great", "excellent", "wonderful", "superb", "delightful", "lovely"]
NEGATIVE = ["terrible", "awful", "dreadful", "horrible", "bad", "poor"]
NOUNS = ["movie", "meal", "service", "trip", "book", "phone", "hotel", "concert"]

SPLITS = {"train": 0.7, "validation": 0.1, "test": 0.2}
# Small and quick on a CPU: a handful of steps, a metric line each, a checkpoint every two.
QUICK_PARAMS = {"max_steps": 6, "batch_size": 4, "max_length": 24, "logging_steps": 1, "save_steps": 2}


def sentiment_tasks(count: int, seed: int = 3) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = "Negative" if index % 3 == 0 else "Positive"
        word = rng.choice(NEGATIVE if label == "Negative" else POSITIVE)
        rows.append((f"the {rng.choice(NOUNS)} was {word}", label))
    return rows


def labeled_project(make_project, cast, *, count: int = 40, org=None):
    """A sentiment project (Choices over Text) with ``count`` tasks, each labeled once."""
    rows = sentiment_tasks(count)
    project = make_project(tasks=[{"text": text} for text, _label in rows], org=org)
    annotator = cast.users["annotator"] if org is None else cast.users["outsider"]
    for task, (_text, label) in zip(project.tasks.order_by("inner_id"), rows, strict=True):
        annotation_create(task=task, user=annotator, result=choice(label))
    return project


def built_version(
    project, user, *, formats: tuple[str, ...] = ("text_classification",), **recipe
) -> DatasetVersion:
    body = {"formats": list(formats), "splits": SPLITS, "seed": 1, "stratify": True, **recipe}
    version = dataset_version_create(project=project, user=user, body=body)
    dataset_version_run(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == JobState.COMPLETED, version.error
    return version


def tiny_encoder_folder(root: Path) -> Path:
    folder = root / "tiny-bert"
    if not (folder / "config.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tiny_bert(folder)
    return folder


def launch_body(version: DatasetVersion, base_model_id: int | None, **params) -> dict:
    return {
        "dataset": version.pk,
        "recipe": "text_classification",
        "base_model": base_model_id,
        "params": {**QUICK_PARAMS, **params},
        "resources": {"gpus": 1, "gpu_type": "H100"},
    }


def json_lines(file: Path) -> list[dict]:
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def finished(job: TrainingJob) -> bool:
    job.refresh_from_db()
    return job.state in (JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED)
