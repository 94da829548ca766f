"""Supervised fine-tuning of a causal LM on chat rows {"messages"}, with the model's chat template (trl)."""

from dataclasses import dataclass

from training.architectures import CAUSAL_LM
from training.recipes.base import GenerationParams, LoraParams, Recipe, TrainingParams, param


@dataclass(frozen=True)
class SftParams(GenerationParams, TrainingParams):
    learning_rate: float = param(2e-5, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    max_length: int = param(1024, minimum=8, maximum=131_072, help="Tokens per (packed) sequence.")
    packing: bool = param(True, help="Pack several conversations into each sequence (no padding wasted).")
    lora: LoraParams | None = param(None, help="Train a LoRA adapter instead of every weight; null: full.")


RECIPE = Recipe(
    name="sft",
    title="Supervised fine-tuning (chat)",
    dataset_format="sft_chat",
    model_kinds=(CAUSAL_LM,),
    params_class=SftParams,
    description="Full or LoRA fine-tuning on conversations; evaluated by perplexity on the test split.",
)
