"""The training job endpoints driven through every answer their schema documents, for
tests/test_openapi_schema.py: a launch on a dataset version built from a small labeled project, the list,
the detail, the metric series, the log and cancel."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.training.training_job_support import built_version, labeled_project, launch_body
from training.models import TrainingJob, TrainingMetric


def walk_training_jobs(call: Any, make_project: Any, cast: Any, settings: Any, tmp_path: Path) -> None:
    manager, annotator, outsider = call("manager"), call("annotator"), call("outsider")
    settings.DATA_DIR = tmp_path / "training-data"
    settings.TESSERA_DATASETS_DIR = tmp_path / "training-data" / "datasets"
    project = labeled_project(make_project, cast, count=12)
    version = built_version(project, cast.users["manager"])
    minilm = next(
        m for m in annotator("get", "/api/base-models/", expect=200) if m["name"] == "all-MiniLM-L6-v2"
    )
    body = launch_body(version, minilm["id"])

    jobs = "/api/training-jobs/"
    job = manager("post", jobs, body, expect=201)
    manager("post", jobs, {**body, "params": {"max_steps": 0}}, expect=400)
    annotator("post", jobs, body, expect=403)
    annotator("get", f"{jobs}?project={project.pk}", expect=200)
    annotator("get", f"{jobs}?project=x", expect=400)
    outsider("get", f"{jobs}?project={project.pk}", expect=404)

    url = f"{jobs}{job['id']}/"
    TrainingMetric.objects.create(
        job_id=job["id"], step=1, time=datetime.now(tz=UTC), values={"loss": 0.7, "learning_rate": 5e-5}
    )
    annotator("get", url, expect=200)
    outsider("get", url, expect=404)
    annotator("get", f"{url}metrics/?after=0", expect=200)
    annotator("get", f"{url}metrics/?after=x", expect=400)
    outsider("get", f"{url}metrics/", expect=404)
    annotator("get", f"{url}logs", expect=404)
    log = settings.DATA_DIR / TrainingJob.objects.get(pk=job["id"]).run_dir / "log.txt"
    log.parent.mkdir(parents=True)
    log.write_text("step 1\n", encoding="utf-8")
    annotator("get", f"{url}logs", expect=200)

    annotator("post", f"{url}cancel", expect=403)
    outsider("post", f"{url}cancel", expect=404)
    manager("post", f"{url}cancel", expect=200)
    finished = manager("post", jobs, body, expect=201)
    TrainingJob.objects.filter(pk=finished["id"]).update(state="completed")
    manager("post", f"{jobs}{finished['id']}/cancel", expect=409)
