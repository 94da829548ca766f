"""Preference tuning with trl's DPOTrainer on rows {"prompt", "chosen", "rejected"} (strings). Without
LoRA the reference model is a frozen copy of the base model; with LoRA it is the model with its adapter
switched off, so no copy is kept. Evaluation on the test split: the DPO loss, and how often the chosen
answer gets the higher implicit reward (reward accuracy)."""

from typing import Any

from datasets import Dataset
from trl import DPOConfig, DPOTrainer

from training.runner import generation, language_models, trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec, read_jsonl, require_columns, validation_rows

COLUMNS = ("prompt", "chosen", "rejected")


def _pairs(rows: list[dict[str, Any]], split: str) -> Dataset:
    require_columns(rows, COLUMNS, split=split)
    return Dataset.from_list([{column: row[column] for column in COLUMNS} for row in rows])


def run(spec: RunSpec, params: Any, events: EventLog) -> tuple[str, dict[str, Any]]:
    model, tokenizer = language_models.load_causal_lm(spec)
    config = DPOConfig(
        **trainer_setup.common_arguments(spec, params),
        beta=params.beta,
        max_length=params.max_length,
    )
    trainer = DPOTrainer(
        model=model,
        args=config,
        train_dataset=_pairs(read_jsonl(spec.train), "train"),
        eval_dataset=None
        if (validation := validation_rows(spec)) is None
        else _pairs(validation, "validation"),
        processing_class=tokenizer,
        peft_config=language_models.lora_config(params.lora, model),
        callbacks=[trainer_setup.reporting(spec, events)],
    )
    trainer_setup.train(trainer, spec, events)
    trainer_setup.save_model(trainer.model, tokenizer, spec, events)
    split, rows = ("test", read_jsonl(spec.test)) if spec.test else ("train", read_jsonl(spec.train))
    raw = trainer.evaluate(eval_dataset=_pairs(rows, split), metric_key_prefix="test")
    # trl adds its own figures (rewards, log-probabilities) under "eval_" whatever the prefix asked.
    metrics = {key.removeprefix("test_").removeprefix("eval_"): value for key, value in raw.items()}
    # After the evaluation, so a run whose answers cannot be generated still reports its figures.
    generation.generate_answers(spec, params, events, rows=rows if split == "test" else None)
    return split, {
        "rows": len(rows),
        "reward_accuracy": metrics.get("rewards/accuracies"),
        "reward_margin": metrics.get("rewards/margins"),
        **metrics,
    }
