"""The model registry's endpoints driven through every answer their schema documents, for
tests/test_openapi_schema.py (which checks each answer against the schema and that none is left out)."""

import json
from pathlib import Path
from typing import Any

from tests.conftest import SENTIMENT_CONFIG
from tests.training.test_registry_model import SENTIMENT, build
from training.models import ModelVersion, TrainingJob


def walk_models(call: Any, make_project: Any, cast: Any, settings: Any, tmp_path: Path) -> None:
    admin, manager, annotator, outsider = call("admin"), call("manager"), call("annotator"), call("outsider")
    settings.DATA_DIR = tmp_path / "models-walk"
    project = make_project(SENTIMENT_CONFIG, title="Registry", tasks=[{"text": "Rates rise."}])
    foreign = make_project(SENTIMENT_CONFIG, org=cast.other_org)
    name = f"project-{project.pk}-text_classification"
    build(settings.DATA_DIR / "models" / "registry", name, "v1", "sequence", SENTIMENT)
    classifier = ModelVersion.objects.create(
        organization=cast.org,
        project=project,
        name=name,
        version="v1",
        recipe="text_classification",
        task_kind="sequence_classification",
        files=[{"path": "model.safetensors", "bytes": 1, "sha256": "0" * 64}],
    )
    job = TrainingJob.objects.create(organization=cast.org, project=project, recipe="sft", run_dir="run")
    (settings.DATA_DIR / "run").mkdir(parents=True)
    (settings.DATA_DIR / "run" / "generations.jsonl").write_text(
        json.dumps({"prompt": "q?", "answer": "a.", "base_answer": "b."}) + "\n"
    )
    generative = ModelVersion.objects.create(
        organization=cast.org,
        project=project,
        job=job,
        name=f"project-{project.pk}-sft",
        version="v1",
        recipe="sft",
        task_kind="causal_lm",
    )

    annotator("get", f"/api/models/?project={project.pk}", expect=200)
    annotator("get", "/api/models/?page=0", expect=400)
    annotator("get", f"/api/models/?project={foreign.pk}", expect=404)
    detail = f"/api/models/{classifier.pk}/"
    annotator("get", detail, expect=200)
    outsider("get", detail, expect=404)

    promote = f"{detail}promote"
    manager("post", promote, {"project": project.pk}, expect=200)
    manager("post", promote, {"project": foreign.pk}, expect=400)
    annotator("post", promote, {"project": project.pk}, expect=403)
    outsider("post", promote, {"project": project.pk}, expect=404)

    evaluation = f"/api/models/{generative.pk}/evaluation-project"
    annotator("post", evaluation, expect=403)
    outsider("post", evaluation, expect=404)
    manager("post", f"{detail}evaluation-project", expect=400)
    manager("post", evaluation, expect=201)
    manager("post", evaluation, expect=409)

    manager("delete", detail, expect=403)
    outsider("delete", detail, expect=404)
    admin("delete", detail, expect=204)
