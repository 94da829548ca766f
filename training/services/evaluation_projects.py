"""The evaluation project of a generative model: its answers to the test prompts, loaded as tasks of a new
project of the organization, where reviewers rate them on a rubric and, where the base model answered
too, pick the better of the two answers blind, with the same review machinery as any project.

The answers come from the run's ``generations.jsonl`` (training/runner/generation.py), one row per test
prompt: ``{"prompt": [messages] | text, "answer", "base_answer": text | null, "reference"?}``. The project
and its tasks are made by the project and import services, so counters, audit and import checks are the
ones every project gets.
"""

import json
import random
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from annotation.importing.parsers import to_task_item
from annotation.models import Project
from annotation.services.imports import tasks_import
from annotation.services.projects import project_create
from tessera.errors import ApplicationError, Conflict
from tessera.models import User
from tessera.services import audit_record
from training.models import ModelVersion

GENERATIONS_FILE = "generations.jsonl"
GENERATIVE_RECIPES = ("sft", "dpo")
RUBRIC = ("helpfulness", "correctness", "style")
MAX_RATING = 5
SIDES = ("left", "right")


def generations_path(model_version: ModelVersion) -> Path | None:
    """The run's generations file, or None when the job (or its folder) is gone."""
    job = model_version.job
    if job is None or not job.run_dir:
        return None
    return Path(settings.DATA_DIR) / job.run_dir / GENERATIONS_FILE


def _no_generations() -> ApplicationError:
    return ApplicationError(
        _("The training run left no generated answers (generations.jsonl) to evaluate."),
        code="no_generations",
    )


def generations_read(file: Path) -> list[dict[str, Any]]:
    """The rows of generations.jsonl that hold a prompt and an answer; a file that is not JSON lines is
    refused whole rather than loaded in part."""
    rows = []
    try:
        with file.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("answer"), str):
                    raise ValueError("a row without an answer")
                if not isinstance(row.get("prompt"), str | list):
                    raise ValueError("a row without a prompt")
                rows.append(row)
    except FileNotFoundError:
        raise _no_generations() from None
    except (OSError, ValueError) as exc:
        raise ApplicationError(
            _("The run's generations.jsonl cannot be read: %(error)s") % {"error": exc},
            code="bad_generations",
        ) from exc
    if not rows:
        raise _no_generations()
    return rows


def prompt_text(prompt: object) -> str:
    """A chat prompt as reviewers read it: each message as "role: content", a blank line between."""
    if isinstance(prompt, str):
        return prompt
    lines = []
    for message in prompt if isinstance(prompt, list) else []:
        if isinstance(message, dict):
            lines.append(f"{message.get('role', '')}: {message.get('content', '')}")
    return "\n\n".join(lines)


def _clean(text: object) -> str:
    # A generated answer may hold NUL, which the database refuses in JSON; reviewers lose nothing.
    return str(text or "").replace("\x00", "")


def _ratings(to_name: str, suffix: str, title: str) -> str:
    controls = "".join(
        f'    <Header value={quoteattr(f"{title}: {name}")} size="6"/>\n'
        f'    <Rating name="{name}{suffix}" toName="{to_name}" maxRating="{MAX_RATING}"/>\n'
        for name in RUBRIC
    )
    return f"  <View>\n{controls}  </View>\n"


def evaluation_label_config(*, pairwise: bool) -> str:
    """Label Studio XML: the prompt, the answer(s), a rubric (helpfulness, correctness, style, 1 to 5) for
    each answer shown and, with the base model's answers, a Pairwise choice between the two. The two
    answers are shown as 1 and 2 without saying which model wrote which, so the comparison is blind."""
    head = '<View>\n  <Header value="Prompt"/>\n  <Text name="prompt" value="$prompt"/>\n'
    if not pairwise:
        return (
            f"{head}"
            '  <Header value="Answer"/>\n  <Text name="answer" value="$answer"/>\n'
            f"{_ratings('answer', '', 'Answer')}"
            "</View>"
        )
    answers = "".join(
        f'  <Header value="Answer {number}"/>\n  <Text name="answer_{side}" value="$answer_{side}"/>\n'
        for number, side in enumerate(SIDES, 1)
    )
    ratings = "".join(
        _ratings(f"answer_{side}", f"_{side}", f"Answer {number}") for number, side in enumerate(SIDES, 1)
    )
    return (
        f"{head}{answers}"
        '  <Header value="Which answer is better?"/>\n'
        '  <Pairwise name="comparison" toName="answer_left,answer_right"/>\n'
        f"{ratings}</View>"
    )


def evaluation_tasks(rows: list[dict[str, Any]], *, pairwise: bool, seed: int) -> list[dict[str, Any]]:
    """Label Studio task records, one per generated row. Pairwise: which side shows the trained model's
    answer is drawn per task from a generator seeded with ``seed`` (so the same run gives the same order
    again), and kept in the task's ``meta``, which the config never shows."""
    order = random.Random(seed)
    tasks = []
    for index, row in enumerate(rows):
        data: dict[str, Any] = {"prompt": prompt_text(row.get("prompt"))}
        if isinstance(row.get("reference"), str):
            data["reference"] = _clean(row["reference"])
        meta: dict[str, Any] = {"generation_row": index}
        if pairwise:
            trained_side = order.choice(SIDES)
            base_side = SIDES[1 - SIDES.index(trained_side)]
            data[f"answer_{trained_side}"] = _clean(row["answer"])
            data[f"answer_{base_side}"] = _clean(row["base_answer"])
            meta.update({"seed": seed, trained_side: "trained", base_side: "base"})
        else:
            data["answer"] = _clean(row["answer"])
        tasks.append({"data": data, "meta": meta})
    return tasks


def evaluation_project_create(*, model_version: ModelVersion, user: User) -> Project:
    """Make the model version's evaluation project and set ``evaluation_project``. A model that generates
    nothing (not an SFT or DPO causal LM) or a run without answers is a 400; a version that has its
    project already is a 409."""
    if model_version.task_kind != "causal_lm" or model_version.recipe not in GENERATIVE_RECIPES:
        raise ApplicationError(
            _("Only SFT and DPO language models have generated answers to evaluate."),
            code="not_generative",
        )
    if model_version.evaluation_project_id is not None:
        raise _exists()
    file = generations_path(model_version)
    if file is None:
        raise _no_generations()
    rows = generations_read(file)
    # Pairwise only when the base model answered every prompt: a task must have two answers to compare.
    pairwise = all(isinstance(row.get("base_answer"), str) for row in rows)
    items = [
        to_task_item(task, index)
        for index, task in enumerate(evaluation_tasks(rows, pairwise=pairwise, seed=model_version.pk))
    ]
    with transaction.atomic():
        # Locked and read again: two requests at once must not both make a project.
        locked = ModelVersion.objects.select_for_update().get(pk=model_version.pk)
        if locked.evaluation_project_id is not None:
            raise _exists()
        project = project_create(
            organization=model_version.organization,
            user=user,
            fields={
                "title": f"{model_version.name} {model_version.version} evaluation",
                "label_config": evaluation_label_config(pairwise=pairwise),
            },
        )
        tasks_import(project=project, user=user, items=items)
        locked.evaluation_project = project
        locked.save(update_fields=["evaluation_project"])
        model_version.evaluation_project = project
        audit_record(
            actor=user,
            organization=model_version.organization_id,
            action="model_version.evaluation_project",
            obj=model_version,
            details={"project": project.pk, "tasks": len(items), "pairwise": pairwise},
        )
    return project


def _exists() -> Conflict:
    return Conflict(_("This model has its evaluation project already."), code="exists")
