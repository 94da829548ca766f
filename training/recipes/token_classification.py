"""Token classification (NER) on an encoder: rows {"tokens", "ner_tags"} with BIO tags, a label per word."""

from dataclasses import dataclass

from training.architectures import ENCODER
from training.recipes.base import Recipe, TrainingParams, param


@dataclass(frozen=True)
class TokenClassificationParams(TrainingParams):
    learning_rate: float = param(5e-5, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    max_length: int = param(256, minimum=8, maximum=8192, help="Sub-word tokens per text; longer are cut.")


RECIPE = Recipe(
    name="token_classification",
    title="Token classification (NER)",
    dataset_format="token_classification",
    model_kinds=(ENCODER,),
    params_class=TokenClassificationParams,
    description="A tag per word (the first sub-word's prediction); evaluated by entity-level F1 (seqeval).",
)
