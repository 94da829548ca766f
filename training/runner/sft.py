"""Supervised fine-tuning on chat rows {"messages": [{"role", "content"}, …]} with trl's SFTTrainer: the
model's own chat template renders each conversation, several are packed into a sequence of max_length
tokens when ``packing`` is on (otherwise batches are drawn from rows of similar lengths, so little padding is
computed), and a LoRA adapter is trained instead of every weight when ``lora`` is set.
Evaluation: perplexity on the test split's conversations."""

from typing import Any

from datasets import Dataset
from transformers import Trainer
from trl import SFTConfig, SFTTrainer

from training.runner import generation, language_models, trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec, read_jsonl, require_columns, validation_rows


def _conversations(rows: list[dict[str, Any]], split: str) -> Dataset:
    require_columns(rows, ("messages",), split=split)
    for number, row in enumerate(rows, 1):
        messages = row["messages"]
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise ValueError(f"{split} row {number}: messages must be a list of {{role, content}} strings")
    return Dataset.from_list([{"messages": row["messages"]} for row in rows])


def varlen_attention(model: Any) -> bool:
    """Whether the model's attention computes each packed conversation on its own (flash-attention's
    variable-length kernels) rather than the whole flattened pack under a block mask."""
    implementation = str(getattr(model.config, "_attn_implementation", "") or "")
    return implementation.startswith("flash_attention") or "flash" in implementation


class _SFTTrainer(SFTTrainer):
    """trl's SFTTrainer with the plain Trainer's loss where trl's fused LM head has no kernel.

    SFTTrainer always computes the loss through a chunked log-probability head (it never holds the whole
    batch · length · vocabulary logits, and reports entropy and token accuracy). On a GPU that is a Triton
    kernel; elsewhere it falls back to tiles in PyTorch that recompute the head in the backward pass, and a
    step took about twice as long as the plain Trainer's on the same batch (bench/training_throughput.py,
    docs/BENCHMARKS.md, issue 12). There the model's own loss is used: the same cross-entropy, without the
    entropy and accuracy metrics.
    """

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        if trainer_setup.on_gpu():
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        inputs["use_cache"] = False
        return Trainer.compute_loss(
            self, model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )


def run(spec: RunSpec, params: Any, events: EventLog) -> tuple[str, dict[str, Any]]:
    model, tokenizer = language_models.load_causal_lm(spec)
    if not tokenizer.chat_template:
        raise ValueError(
            "the base model's tokenizer has no chat template (tokenizer_config.json chat_template)"
        )
    train_set = _conversations(read_jsonl(spec.train), "train")
    if params.packing and not varlen_attention(model):
        events.event(
            "packing_without_varlen_attention",
            attention=str(model.config._attn_implementation),
            note="each packed sequence attends over its whole pack: steps cost more than unpacked ones",
        )
    arguments: dict[str, Any] = trainer_setup.common_arguments(spec, params)
    if not params.packing:
        # Unpacked, a batch is padded to its longest row: drawing rows of similar lengths together (the
        # Trainer's LengthGroupedSampler, shuffled by megabatches) keeps the padding, and so the wasted
        # compute, small.
        arguments["train_sampling_strategy"] = "group_by_length"
    config = SFTConfig(**arguments, max_length=params.max_length, packing=params.packing)
    trainer = _SFTTrainer(
        model=model,
        args=config,
        train_dataset=train_set,
        eval_dataset=None
        if (validation := validation_rows(spec)) is None
        else _conversations(validation, "validation"),
        processing_class=tokenizer,
        peft_config=language_models.lora_config(params.lora, model),
        callbacks=[trainer_setup.reporting(spec, events)],
    )
    trainer_setup.train(trainer, spec, events)
    trainer_setup.save_model(trainer.model, tokenizer, spec, events)
    split, rows = ("test", read_jsonl(spec.test)) if spec.test else ("train", read_jsonl(spec.train))
    metrics = language_models.perplexity_metrics(
        trainer.evaluate(eval_dataset=_conversations(rows, split), metric_key_prefix="test")
    )
    # After the evaluation, so a run whose answers cannot be generated still reports its figures.
    generation.generate_answers(spec, params, events, rows=rows if split == "test" else None)
    return split, {"rows": len(rows), **metrics}
