"""The evaluation project of an SFT or DPO model: its run's generations.jsonl (the runner's shape, written
here) becomes a project of the organization with a rubric and, with the base model's answers, a blind
pairwise comparison; reviewers label it through the same API as any project."""

import json
from pathlib import Path
from typing import Any

import pytest

from annotation.label_config import parse_label_config
from annotation.models import Project
from tessera.models import AuditEvent
from tests.conftest import post_json
from training.models import ModelVersion, TrainingJob
from training.services.evaluation_projects import RUBRIC, evaluation_tasks

pytestmark = pytest.mark.django_db

CONVERSATION = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "what do bees make?"}]
ROWS: list[dict[str, Any]] = [
    {"prompt": CONVERSATION, "answer": "honey.", "base_answer": "bees bees", "reference": "bees make honey."},
    {"prompt": "what is two plus two?", "answer": "four.", "base_answer": "two two"},
    {"prompt": [{"role": "user", "content": "空は何色?"}], "answer": "青です。", "base_answer": "空"},
]


@pytest.fixture
def make_generative(cast, settings, tmp_path, choices_project):
    """``make_generative(rows)``: an SFT model version whose job's run folder holds ``rows`` as
    generations.jsonl (None: no file)."""
    settings.DATA_DIR = tmp_path

    def make(rows: list[dict[str, Any]] | None = ROWS, *, recipe: str = "sft", task_kind: str = "causal_lm"):
        job = TrainingJob.objects.create(
            organization=cast.org, project=choices_project, recipe=recipe, run_dir="training/jobs/x"
        )
        job.run_dir = f"training/jobs/{job.pk}"
        job.save(update_fields=["run_dir"])
        run_dir = Path(tmp_path) / job.run_dir
        run_dir.mkdir(parents=True)
        if rows is not None:
            lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            (run_dir / "generations.jsonl").write_text(lines, encoding="utf-8")
        return ModelVersion.objects.create(
            organization=cast.org,
            project=choices_project,
            job=job,
            name=f"project-{choices_project.pk}-{recipe}",
            version=f"v{job.pk}",
            recipe=recipe,
            task_kind=task_kind,
        )

    return make


def make_project_of(api, version, role="manager"):
    return api(role).post(f"/api/models/{version.pk}/evaluation-project")


def test_a_pairwise_evaluation_project_holds_one_blind_task_per_test_prompt(api, cast, make_generative):
    version = make_generative()
    response = make_project_of(api, version)
    assert response.status_code == 201, response.content
    project = Project.objects.get(pk=response.json()["evaluation_project"])
    version.refresh_from_db()
    assert version.evaluation_project_id == project.pk
    assert project.organization_id == cast.org.pk
    assert project.title == f"{version.name} {version.version} evaluation"
    schema = parse_label_config(project.label_config, max_bytes=100_000)
    controls = {name: control.tag for name, control in schema.controls.items()}
    assert controls == {
        "comparison": "pairwise",
        **{f"{name}_{side}": "rating" for name in RUBRIC for side in ("left", "right")},
    }
    # Counters kept by the import service, as for any import.
    assert project.task_count == project.tasks.count() == 3
    tasks = list(project.tasks.order_by("inner_id"))
    for task, row in zip(tasks, ROWS, strict=True):
        meta = task.meta
        trained = "left" if meta["left"] == "trained" else "right"
        base = "right" if trained == "left" else "left"
        assert meta[base] == "base" and meta["seed"] == version.pk
        assert task.data[f"answer_{trained}"] == row["answer"]
        assert task.data[f"answer_{base}"] == row["base_answer"]
    assert tasks[0].data["prompt"] == "system: be brief\n\nuser: what do bees make?"
    assert tasks[0].data["reference"] == "bees make honey."
    assert tasks[1].data["prompt"] == "what is two plus two?"
    audit = AuditEvent.objects.get(action="model_version.evaluation_project")
    assert audit.details == {"project": project.pk, "tasks": 3, "pairwise": True}
    assert api("annotator").get(f"/api/models/{version.pk}/").json()["evaluation_project"] == project.pk


def test_which_side_is_the_trained_model_is_drawn_per_task_and_repeats_with_the_seed():
    rows = [{"prompt": f"q{n}", "answer": f"trained {n}", "base_answer": f"base {n}"} for n in range(40)]
    first = evaluation_tasks(rows, pairwise=True, seed=7)
    assert first == evaluation_tasks(rows, pairwise=True, seed=7)
    sides = [task["meta"]["left"] for task in first]
    assert 5 < sides.count("trained") < 35  # both orders occur
    assert sides != [task["meta"]["left"] for task in evaluation_tasks(rows, pairwise=True, seed=8)]


def test_without_base_answers_the_project_is_a_rubric_over_the_answer(api, make_generative):
    version = make_generative([{**row, "base_answer": None} for row in ROWS])
    project = Project.objects.get(pk=make_project_of(api, version).json()["evaluation_project"])
    schema = parse_label_config(project.label_config, max_bytes=100_000)
    assert {name: c.tag for name, c in schema.controls.items()} == {name: "rating" for name in RUBRIC}
    assert [task.data["answer"] for task in project.tasks.order_by("inner_id")] == [
        "honey.",
        "four.",
        "青です。",
    ]


def test_a_reviewer_rates_and_compares_through_the_annotation_api(api, make_generative):
    version = make_generative()
    project = Project.objects.get(pk=make_project_of(api, version).json()["evaluation_project"])
    task = project.tasks.order_by("inner_id").first()
    result = [
        {"from_name": "helpfulness_left", "to_name": "answer_left", "type": "rating", "value": {"rating": 4}},
        {"from_name": "correctness_left", "to_name": "answer_left", "type": "rating", "value": {"rating": 5}},
        {"from_name": "style_right", "to_name": "answer_right", "type": "rating", "value": {"rating": 2}},
        {
            "from_name": "comparison",
            "to_name": "comparison",
            "type": "pairwise",
            "value": {"selected": "left"},
        },
    ]
    response = post_json(api("reviewer"), f"/api/tasks/{task.pk}/annotations/", {"result": result})
    assert response.status_code == 201, response.content
    task.refresh_from_db()
    assert task.total_annotations == 1
    out_of_range = [{**result[0], "value": {"rating": 9}}]
    response = post_json(api("reviewer"), f"/api/tasks/{task.pk}/annotations/", {"result": out_of_range})
    assert response.status_code == 400


def test_a_second_evaluation_project_is_a_409(api, make_generative):
    version = make_generative()
    assert make_project_of(api, version).status_code == 201
    response = make_project_of(api, version)
    assert response.status_code == 409 and response.json()["error"]["code"] == "exists"
    assert Project.objects.filter(title__endswith="evaluation").count() == 1


def test_only_generative_models_with_answers_get_one(api, make_generative):
    classifier = make_generative(recipe="text_classification", task_kind="sequence_classification")
    response = make_project_of(api, classifier)
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_generative"
    response = make_project_of(api, make_generative(None))
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_generations"
    response = make_project_of(api, make_generative([{"prompt": "q"}]))
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_generations"
    assert not Project.objects.filter(title__endswith="evaluation").exists()


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
def test_below_manager_may_not_make_one(api, role, make_generative):
    assert make_project_of(api, make_generative(), role).status_code == 403
