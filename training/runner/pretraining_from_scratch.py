"""A Llama-style causal LM from scratch on rows {"text"}: a byte-level BPE tokenizer trained on the
training split first, then the model the recipe's parameters describe, initialised at random.

On a resumed run the tokenizer saved beside the checkpoints is reused (training a new one could number the
tokens differently from the checkpoint's embeddings). Evaluation: perplexity on the test split.
"""

from typing import Any

from transformers import (
    AutoModelForCausalLM,
    DataCollatorForLanguageModeling,
    LlamaConfig,
    PreTrainedTokenizerFast,
    Trainer,
)

from training.recipes.pretraining_from_scratch import model_config
from training.runner import language_models, process_rank, trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec, read_jsonl, require_columns, validation_rows
from training.runner.tokenizer import train_bpe_tokenizer


def run(spec: RunSpec, params: Any, events: EventLog) -> tuple[str, dict[str, Any]]:
    train_rows = read_jsonl(spec.train)
    require_columns(train_rows, ("text",), split="train")
    texts = language_models.texts_of(train_rows)
    tokenizer_dir = spec.output_dir / "tokenizer"
    if (tokenizer_dir / "tokenizer.json").is_file():
        tokenizer = PreTrainedTokenizerFast.from_pretrained(tokenizer_dir, local_files_only=True)
    else:
        # Under torchrun every rank trains the same tokenizer (same texts, deterministic merges); rank 0 keeps it.
        tokenizer = train_bpe_tokenizer(texts, vocab_size=params.vocab_size)
        if process_rank() == 0:
            tokenizer.save_pretrained(tokenizer_dir)
        events.event("tokenizer_trained", vocab_size=len(tokenizer), path=str(tokenizer_dir))
    config = LlamaConfig(
        **{
            **{key: value for key, value in model_config(params).items() if key != "model_type"},
            "vocab_size": len(tokenizer),
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        }
    )
    model = AutoModelForCausalLM.from_config(config)
    trainer = Trainer(
        model=model,
        args=trainer_setup.training_arguments(spec, params),
        train_dataset=language_models.text_blocks(
            tokenizer, texts, max_length=params.max_length, causal=True
        ),
        eval_dataset=None
        if (validation := validation_rows(spec)) is None
        else language_models.text_blocks(
            tokenizer, language_models.texts_of(validation), max_length=params.max_length, causal=True
        ),
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
        callbacks=[trainer_setup.reporting(spec, events)],
    )
    trainer_setup.train(trainer, spec, events)
    trainer_setup.save_model(trainer.model, tokenizer, spec, events)
    split, rows = ("test", read_jsonl(spec.test)) if spec.test else ("train", train_rows)
    require_columns(rows, ("text",), split=split)
    test_blocks = language_models.text_blocks(
        tokenizer, language_models.texts_of(rows), max_length=params.max_length, causal=True
    )
    metrics = language_models.perplexity_metrics(
        trainer.evaluate(eval_dataset=test_blocks, metric_key_prefix="test")
    )
    return split, {
        "rows": len(rows),
        "parameters": model.num_parameters(),
        "vocab_size": len(tokenizer),
        **metrics,
    }
