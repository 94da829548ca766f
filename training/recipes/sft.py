"""Supervised fine-tuning of a causal LM on chat rows {"messages"}, with the model's chat template (trl)."""

from dataclasses import dataclass

from training.architectures import CAUSAL_LM
from training.recipes.base import GenerationParams, LoraParams, Recipe, TrainingParams, param


@dataclass(frozen=True)
class SftParams(GenerationParams, TrainingParams):
    learning_rate: float = param(2e-5, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    max_length: int = param(1024, minimum=8, maximum=131_072, help="Tokens per (packed) sequence.")
    # Off by default: packed conversations share one flattened sequence, which only a variable-length
    # attention kernel (flash-attention, GPUs) computes per conversation; SDPA and eager attention compute
    # the whole pack with a block mask, and a step cost 2.3x an unpacked one on the CPU (docs/BENCHMARKS.md,
    # issue 12). Unpacked batches are grouped by length instead, which wastes little padding.
    packing: bool = param(
        False,
        help="Pack several conversations into each sequence: pays with flash-attention on a GPU only; "
        "without it batches of similar lengths are used.",
    )
    lora: LoraParams | None = param(None, help="Train a LoRA adapter instead of every weight; null: full.")


RECIPE = Recipe(
    name="sft",
    title="Supervised fine-tuning (chat)",
    dataset_format="sft_chat",
    model_kinds=(CAUSAL_LM,),
    params_class=SftParams,
    description="Full or LoRA fine-tuning on conversations; evaluated by perplexity on the test split.",
)
