"""Text classification on an encoder: a sequence-classification head over rows {"text", "label"}."""

from dataclasses import dataclass

from training.architectures import ENCODER
from training.recipes.base import Recipe, TrainingParams, param


@dataclass(frozen=True)
class TextClassificationParams(TrainingParams):
    learning_rate: float = param(5e-5, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    max_length: int = param(128, minimum=8, maximum=8192, help="Tokens per text; longer are cut.")


RECIPE = Recipe(
    name="text_classification",
    title="Text classification",
    dataset_format="text_classification",
    model_kinds=(ENCODER,),
    params_class=TextClassificationParams,
    description="A classification head on an encoder; evaluated by accuracy, macro-F1 and a confusion matrix.",
)
