"""Domain-adaptive continued pre-training on plain text rows {"text"}: masked LM for an encoder, causal LM
for a decoder, on text cut into blocks of max_length tokens (as ClimateBert adapted DistilRoBERTa)."""

from dataclasses import dataclass

from training.architectures import CAUSAL_LM, ENCODER
from training.recipes.base import LoraParams, Recipe, TrainingParams, param


@dataclass(frozen=True)
class ContinuedPretrainingParams(TrainingParams):
    learning_rate: float = param(5e-5, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    max_length: int = param(256, minimum=8, maximum=131_072, help="Tokens per block of text.")
    mlm_probability: float = param(
        0.15, minimum=0.01, maximum=0.9, help="Share of tokens masked (encoders only)."
    )
    lora: LoraParams | None = param(None, help="Decoders only: a LoRA adapter instead of every weight.")


RECIPE = Recipe(
    name="continued_pretraining",
    title="Continued pre-training (domain adaptation)",
    dataset_format="pretraining_corpus",
    model_kinds=(ENCODER, CAUSAL_LM),
    params_class=ContinuedPretrainingParams,
    pretraining=True,
    description="Masked LM (encoders) or causal LM (decoders) on the corpus; evaluated by perplexity.",
)
