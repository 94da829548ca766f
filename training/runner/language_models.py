"""What the language-model recipes share: loading a causal LM, text cut into blocks, LoRA, perplexity."""

import math
from typing import Any

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase

from training.runner.spec import RunSpec

# The attention projections LoRA adapts (what training/estimate.py counts): Llama, Mistral, Qwen names.
LORA_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]


def load_causal_lm(spec: RunSpec) -> tuple[Any, PreTrainedTokenizerBase]:
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model_folder, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token  # batches need one; the loss ignores padding either way
    model = AutoModelForCausalLM.from_pretrained(
        spec.base_model_folder, local_files_only=True, use_safetensors=True
    )
    return model, tokenizer


def lora_config(lora: Any, model: Any) -> Any:
    """peft's LoraConfig from the recipe's LoRA parameters, or None for full fine-tuning."""
    if lora is None:
        return None
    from peft import LoraConfig

    names = {name.rsplit(".", 1)[-1] for name, _module in model.named_modules()}
    targets = [
        name for name in LORA_TARGET_MODULES if name in names
    ] or None  # None: peft's default per model
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )


def text_blocks(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], *, max_length: int, causal: bool
) -> Dataset:
    """Texts as training examples of at most ``max_length`` tokens.

    Causal: every text ends with EOS and the stream is cut into blocks of max_length (no padding, no text
    wasted; the tail shorter than a block is kept when it is all there is). Masked: each text on its own,
    cut at max_length, as the masked-LM collator pads a batch anyway.
    """
    if not causal:
        encoded = tokenizer(texts, truncation=True, max_length=max_length, return_special_tokens_mask=True)
        return Dataset.from_dict(dict(encoded))
    ids: list[int] = []
    for row in tokenizer(texts, add_special_tokens=False)["input_ids"]:
        ids.extend(row)
        if tokenizer.eos_token_id is not None:
            ids.append(tokenizer.eos_token_id)
    blocks = [ids[start : start + max_length] for start in range(0, len(ids), max_length)]
    if len(blocks) > 1 and len(blocks[-1]) < max_length:
        blocks.pop()
    return Dataset.from_dict({"input_ids": blocks, "attention_mask": [[1] * len(block) for block in blocks]})


def perplexity_metrics(metrics: dict[str, float]) -> dict[str, Any]:
    loss = metrics.get("test_loss")
    return {
        "loss": loss,
        # exp of the mean cross-entropy per token; for a masked LM, of the masked tokens (pseudo-perplexity).
        "perplexity": math.exp(min(loss, 50.0)) if loss is not None else None,
        **{key.removeprefix("test_"): value for key, value in metrics.items() if key != "test_loss"},
    }


def texts_of(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row["text"]) for row in rows if str(row["text"]).strip()]
