"""What every recipe's run shares: the Trainer's arguments from the parameters, resuming from the newest
complete checkpoint, and saving the final model as safetensors."""

import shutil
from pathlib import Path
from typing import Any

import torch
from transformers import TrainingArguments

from training.runner import process_rank
from training.runner.reporting import EventLog, JsonLines, ReportingCallback
from training.runner.spec import RunSpec

CHECKPOINT_PREFIX = "checkpoint-"
# Written last by Trainer._save_checkpoint: a checkpoint folder without it was cut short (a kill mid-save).
CHECKPOINT_COMPLETE_MARK = "trainer_state.json"


# resources.strategy "fsdp": PyTorch's FSDP2 through the Trainer's accelerate plugin. Each decoder or encoder
# layer (the model's ``_no_split_modules``) is a unit of its own, resharded after its forward; checkpoints
# and the final model are gathered whole (FULL_STATE_DICT), so a sharded run saves the same safetensors
# folder as a data-parallel one and registers the same way. Accelerate shards on GPUs only: on the CPU
# the run is data-parallel (and says so, ``sharding_unavailable``).
FSDP_CONFIG = {
    "version": 2,
    "reshard_after_forward": True,
    "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
    "state_dict_type": "FULL_STATE_DICT",
}


def on_gpu() -> bool:
    return torch.cuda.is_available()


def sharding_arguments(spec: RunSpec) -> dict[str, Any]:
    """The Trainer's FSDP keywords for a sharded run on GPUs; none otherwise."""
    if not (spec.fsdp and on_gpu()):
        return {}
    return {"fsdp": True, "fsdp_config": dict(FSDP_CONFIG)}


def common_arguments(spec: RunSpec, params: Any) -> dict[str, Any]:
    """TrainingArguments' keywords from the recipe's parameters (also the base of trl's configs)."""
    bf16 = on_gpu() and torch.cuda.is_bf16_supported()
    return {
        "output_dir": str(spec.checkpoints_dir),
        "learning_rate": params.learning_rate,
        "num_train_epochs": params.epochs,
        "max_steps": -1 if params.max_steps is None else params.max_steps,
        "per_device_train_batch_size": params.batch_size,
        "per_device_eval_batch_size": params.batch_size,
        "gradient_accumulation_steps": params.gradient_accumulation_steps,
        "warmup_steps": params.warmup_ratio,  # a float below 1 is read as a share of the steps
        "weight_decay": params.weight_decay,
        "seed": params.seed,
        "logging_steps": params.logging_steps,
        "logging_first_step": True,  # the first loss is the reference the run's progress is read against
        "save_strategy": "steps",
        "save_steps": params.save_steps,
        "save_total_limit": params.save_total_limit,
        # With a validation split, its loss is logged at every checkpoint (a metric line with eval_loss).
        "eval_strategy": "steps" if spec.validation else "no",
        "eval_steps": params.save_steps,
        "report_to": [],
        "disable_tqdm": True,
        "use_cpu": not on_gpu(),
        "bf16": bf16,
        # Said here because trl's configs (SFTConfig, DPOConfig) turn recomputation on by default while the
        # Trainer leaves it off: recomputing every layer's forward in the backward costs about a third more
        # compute per step (measured in bench/training_throughput.py), and the estimate's memory figure
        # assumes activations are kept.
        "activation_checkpointing": False,
        "torch_compile": spec.torch_compile,
        "dataloader_num_workers": 0,  # rows are in memory; workers would only fork the process
        "include_num_input_tokens_seen": "non_padding",
        **sharding_arguments(spec),
    }


def training_arguments(spec: RunSpec, params: Any, **overrides: Any) -> TrainingArguments:
    return TrainingArguments(**{**common_arguments(spec, params), **overrides})


def last_complete_checkpoint(checkpoints: Path, events: EventLog) -> Path | None:
    """The newest checkpoint with its trainer state written; newer, incomplete ones are removed (a run
    killed while saving leaves one, and the Trainer would otherwise try to resume from it)."""
    if not checkpoints.is_dir():
        return None
    found = []
    for folder in checkpoints.iterdir():
        suffix = folder.name.removeprefix(CHECKPOINT_PREFIX)
        if folder.is_dir() and folder.name.startswith(CHECKPOINT_PREFIX) and suffix.isdigit():
            found.append((int(suffix), folder))
    for _step, folder in sorted(found, reverse=True):
        if (folder / CHECKPOINT_COMPLETE_MARK).is_file():
            return folder
        events.event("checkpoint_discarded", path=str(folder), reason="incomplete")
        shutil.rmtree(folder)
    return None


def reporting(spec: RunSpec, events: EventLog) -> ReportingCallback:
    return ReportingCallback(metrics=JsonLines(spec.metrics_file), events=events, peak_flops=spec.peak_flops)


def train(trainer: Any, spec: RunSpec, events: EventLog) -> None:
    """Train, from the newest complete checkpoint when there is one."""
    checkpoint = last_complete_checkpoint(spec.checkpoints_dir, events)
    if checkpoint is not None:
        events.event("resumed", checkpoint=str(checkpoint))
    trainer.train(resume_from_checkpoint=None if checkpoint is None else str(checkpoint))


def save_model(model: Any, tokenizer: Any, spec: RunSpec, events: EventLog) -> Path:
    """The final model as safetensors, a LoRA adapter merged into its base first (a plain model folder is
    what a pre-labeler, or the next recipe, loads)."""
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    target = spec.model_dir
    if process_rank() != 0:
        return target
    if target.exists():
        shutil.rmtree(target)
    model.save_pretrained(target, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(target)
    events.event("model_saved", path=str(target))
    return target
