"""The architectures the recipes train, by config.json's ``model_type``, and what each is (no Django, so
the runner and the model-folder check read the same table)."""

ENCODER = "encoder"
CAUSAL_LM = "causal_lm"

ENCODER_TYPES = (
    "bert",
    "roberta",
    "xlm-roberta",
    "distilbert",
    "deberta",
    "deberta-v2",
    "electra",
    "albert",
    "mpnet",
    "modernbert",
)
CAUSAL_LM_TYPES = (
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "gpt2",
    "gpt_neox",
    "gemma",
    "gemma2",
    "phi",
    "phi3",
    "olmo",
    "olmo2",
)
MODEL_KIND_OF_TYPE: dict[str, str] = {
    **dict.fromkeys(ENCODER_TYPES, ENCODER),
    **dict.fromkeys(CAUSAL_LM_TYPES, CAUSAL_LM),
}
