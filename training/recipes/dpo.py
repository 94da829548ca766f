"""Preference tuning with DPO (trl) on rows {"prompt", "chosen", "rejected"}; the reference model is the
base model as it was (or, with LoRA, the model with its adapter switched off)."""

from dataclasses import dataclass

from training.architectures import CAUSAL_LM
from training.recipes.base import GenerationParams, LoraParams, Recipe, TrainingParams, param


@dataclass(frozen=True)
class DpoParams(GenerationParams, TrainingParams):
    learning_rate: float = param(5e-7, minimum=1e-9, maximum=1.0, help="Peak learning rate (AdamW).")
    epochs: float = param(1.0, minimum=0.01, maximum=100.0, help="Passes over the training split.")
    max_length: int = param(1024, minimum=8, maximum=131_072, help="Tokens of prompt and answer together.")
    beta: float = param(0.1, minimum=0.001, maximum=10.0, help="How far from the reference model it may go.")
    lora: LoraParams | None = param(None, help="Train a LoRA adapter instead of every weight; null: full.")


RECIPE = Recipe(
    name="dpo",
    title="Preference tuning (DPO)",
    dataset_format="dpo_pairs",
    model_kinds=(CAUSAL_LM,),
    params_class=DpoParams,
    description="Direct preference optimisation on chosen/rejected pairs; evaluated by reward accuracy.",
)
