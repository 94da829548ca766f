"""Continued pre-training on rows {"text"}: masked LM for an encoder, causal LM for a decoder (the folder's
model_type says which). Evaluation: perplexity on the test split (pseudo-perplexity for a masked LM)."""

import json
from typing import Any

from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling, Trainer

from training.architectures import CAUSAL_LM, MODEL_KIND_OF_TYPE
from training.runner import language_models, trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec, read_jsonl, require_columns, validation_rows


def run(spec: RunSpec, params: Any, events: EventLog) -> tuple[str, dict[str, Any]]:
    model_type = json.loads((spec.base_model_folder / "config.json").read_text(encoding="utf-8")).get(
        "model_type"
    )
    causal = MODEL_KIND_OF_TYPE.get(model_type) == CAUSAL_LM
    train_rows = read_jsonl(spec.train)
    require_columns(train_rows, ("text",), split="train")
    if causal:
        model, tokenizer = language_models.load_causal_lm(spec)
        peft_config = language_models.lora_config(params.lora, model)
        if peft_config is not None:
            from peft import get_peft_model

            model = get_peft_model(model, peft_config)
    else:
        tokenizer = AutoTokenizer.from_pretrained(spec.base_model_folder, local_files_only=True)
        model = AutoModelForMaskedLM.from_pretrained(
            spec.base_model_folder, local_files_only=True, use_safetensors=True
        )
    collator = DataCollatorForLanguageModeling(
        tokenizer, mlm=not causal, mlm_probability=params.mlm_probability, seed=params.seed
    )
    blocks = language_models.text_blocks(
        tokenizer, language_models.texts_of(train_rows), max_length=params.max_length, causal=causal
    )
    trainer = Trainer(
        model=model,
        args=trainer_setup.training_arguments(spec, params),
        train_dataset=blocks,
        eval_dataset=None
        if (validation := validation_rows(spec)) is None
        else language_models.text_blocks(
            tokenizer, language_models.texts_of(validation), max_length=params.max_length, causal=causal
        ),
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[trainer_setup.reporting(spec, events)],
    )
    trainer_setup.train(trainer, spec, events)
    trainer_setup.save_model(trainer.model, tokenizer, spec, events)
    split, rows = ("test", read_jsonl(spec.test)) if spec.test else ("train", train_rows)
    require_columns(rows, ("text",), split=split)
    test_blocks = language_models.text_blocks(
        tokenizer, language_models.texts_of(rows), max_length=params.max_length, causal=causal
    )
    metrics = language_models.perplexity_metrics(
        trainer.evaluate(eval_dataset=test_blocks, metric_key_prefix="test")
    )
    return split, {"rows": len(rows), "objective": "causal_lm" if causal else "masked_lm", **metrics}
