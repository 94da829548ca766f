"""A small Llama-style causal LM from scratch on a corpus {"text"}, with a byte-level BPE tokenizer trained
on that corpus first (tokenizers), as BloombergGPT did at a far larger scale. No base model."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from tessera.errors import ApplicationError
from training.recipes.base import Recipe, TrainingParams, param


@dataclass(frozen=True)
class PretrainingFromScratchParams(TrainingParams):
    learning_rate: float = param(3e-4, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    max_length: int = param(512, minimum=8, maximum=131_072, help="Tokens per block (the context length).")
    vocab_size: int = param(8000, minimum=300, maximum=262_144, help="The BPE tokenizer's vocabulary.")
    hidden_size: int = param(256, minimum=8, maximum=16_384, help="Width of the model.")
    num_layers: int = param(4, minimum=1, maximum=256, help="Transformer blocks.")
    num_heads: int = param(4, minimum=1, maximum=256, help="Attention heads; must divide hidden_size.")
    intermediate_size: int | None = param(
        None, minimum=8, maximum=65_536, help="MLP width; by default about 8/3 of hidden_size (Llama)."
    )


class _FromScratch(Recipe):
    def check_together(self, params: PretrainingFromScratchParams) -> None:
        if params.hidden_size % params.num_heads:
            raise ApplicationError(_("Must divide hidden_size."), field="params.num_heads")


def intermediate_size(params: PretrainingFromScratchParams) -> int:
    """Llama's MLP width: 8/3 of the hidden size, rounded up to a multiple of 8 (for the matmuls' tiles)."""
    if params.intermediate_size is not None:
        return params.intermediate_size
    return -(-(params.hidden_size * 8 // 3) // 8) * 8


def model_config(params: PretrainingFromScratchParams) -> dict:
    """The Llama config the run builds, as config.json would hold it (the estimate counts from it too)."""
    return {
        "model_type": "llama",
        "vocab_size": params.vocab_size,
        "hidden_size": params.hidden_size,
        "intermediate_size": intermediate_size(params),
        "num_hidden_layers": params.num_layers,
        "num_attention_heads": params.num_heads,
        "num_key_value_heads": params.num_heads,
        "max_position_embeddings": params.max_length,
        "tie_word_embeddings": True,
    }


RECIPE = _FromScratch(
    name="pretraining_from_scratch",
    title="Pre-training from scratch",
    dataset_format="pretraining_corpus",
    model_kinds=(),
    params_class=PretrainingFromScratchParams,
    pretraining=True,
    description="A tokenizer trained on the corpus, then a small Llama-style model; evaluated by perplexity.",
)
