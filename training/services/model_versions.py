"""Registering what a successful training job produced: a ModelVersion row and its artifact folder,
``DATA_DIR/models/registry/<name>/<version>/`` (what the ``registry_model`` pre-labeler reads).

The run's ``model/`` folder is copied into a hidden temporary folder beside the target and renamed into
place, so a reader never sees half an artifact and a copy cut short by a crash leaves only a temporary
folder. name = ``project-<project id>-<recipe>``, version = ``v<n>`` with n one more than the versions
of that name in the organization (skipping a folder left on disk by a rolled-back registration).
"""

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from training.models import ModelKind, ModelVersion, TrainingJob

_CHUNK = 1024 * 1024
TASK_KINDS = {
    "text_classification": "sequence_classification",
    "token_classification": "token_classification",
    "sft": "causal_lm",
    "dpo": "causal_lm",
    "pretraining_from_scratch": "causal_lm",
}


def registry_root() -> Path:
    return Path(settings.DATA_DIR) / "models" / "registry"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_files(folder: Path) -> list[dict[str, Any]]:
    return [
        {"path": path.relative_to(folder).as_posix(), "bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def task_kind(job: TrainingJob, model_dir: Path) -> str:
    """What the model does, from the recipe; continued pre-training keeps its base model's objective
    (masked LM for an encoder, causal LM for a decoder)."""
    if job.recipe in TASK_KINDS:
        return TASK_KINDS[job.recipe]
    if job.base_model is not None:
        return "masked_lm" if job.base_model.kind == ModelKind.ENCODER else "causal_lm"
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    architectures = " ".join(config.get("architectures") or [])
    return "masked_lm" if "MaskedLM" in architectures else "causal_lm"


def _annotation_ids(manifest: Path) -> int | None:
    if not manifest.is_file():
        return None
    count = 0
    with manifest.open(encoding="utf-8") as stream:
        for line in stream:
            if line.strip():
                count += len(json.loads(line).get("annotation_ids") or [])
    return count


def lineage(job: TrainingJob, run_dir: Path) -> dict[str, Any]:
    version = job.dataset
    return {
        "project": job.project_id,
        "dataset": None if version is None else version.pk,
        "dataset_name": None if version is None else version.name,
        "dataset_recipe": None if version is None else version.recipe,
        "dataset_manifest_sha256": job.dataset_manifest_sha256,
        "counts": None if version is None else version.counts,
        # The manifest was placed in the run folder when the run started, so this holds even once the
        # version itself is deleted.
        "annotation_ids": _annotation_ids(run_dir / "data" / "manifest.jsonl"),
        "job": job.pk,
    }


def _free_version(name: str, organization_id: int) -> str:
    number = ModelVersion.objects.filter(organization_id=organization_id, name=name).count() + 1
    taken = set(
        ModelVersion.objects.filter(organization_id=organization_id, name=name).values_list(
            "version", flat=True
        )
    )
    while f"v{number}" in taken or (registry_root() / name / f"v{number}").exists():
        number += 1
    return f"v{number}"


def model_version_register(job: TrainingJob) -> ModelVersion:
    """The job's model in the registry, with its files, evaluation, task kind and lineage. Called by the
    worker in the transaction that completes the job (the job row locked); a registration that fails
    leaves no folder behind."""
    run_dir = Path(settings.DATA_DIR) / job.run_dir
    model_dir = run_dir / "model"
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"the run left no model in {model_dir}")
    evaluation = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    name = f"project-{job.project_id}-{job.recipe}"
    kind = task_kind(job, model_dir)
    parent = registry_root() / name
    parent.mkdir(parents=True, exist_ok=True)
    temporary = parent / f".tmp-job-{job.pk}"
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.copytree(model_dir, temporary)
    with transaction.atomic():
        # The organization's versions of this name, locked, so two jobs finishing together count apart.
        list(
            ModelVersion.objects.select_for_update()
            .filter(organization_id=job.organization_id, name=name)
            .values_list("pk", flat=True)
        )
        version = _free_version(name, job.organization_id)
        target = parent / version
        temporary.rename(target)
        try:
            return ModelVersion.objects.create(
                organization_id=job.organization_id,
                project_id=job.project_id,
                job=job,
                name=name,
                version=version,
                recipe=job.recipe,
                task_kind=kind,
                base_model=job.base_model,
                base_model_name="" if job.base_model is None else job.base_model.name,
                params=job.params,
                dataset=job.dataset,
                dataset_manifest_sha256=job.dataset_manifest_sha256,
                metrics=evaluation.get("metrics") or {},
                files=artifact_files(target),
                lineage=lineage(job, run_dir),
                created_by=job.created_by,
            )
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
