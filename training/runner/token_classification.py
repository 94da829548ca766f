"""Token classification (NER): rows {"tokens": [words], "ner_tags": [BIO tags]}, one tag a word.

Words are split into sub-words by the encoder's (fast) tokenizer; the first sub-word of a word carries its
tag and the others are ignored by the loss (-100), and at prediction a word takes its first sub-word's tag.
Evaluation: entity-level precision, recall and F1 (seqeval, the CoNLL rules), and token accuracy.
"""

from typing import Any

import numpy as np
from datasets import Dataset
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
)

from training.runner import trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec, read_jsonl, require_columns, validation_rows

COLUMNS = ("tokens", "ner_tags")
IGNORED = -100  # the loss's ignore_index


def _check(rows: list[dict[str, Any]], split: str) -> None:
    require_columns(rows, COLUMNS, split=split)
    for number, row in enumerate(rows, 1):
        tokens, tags = row["tokens"], row["ner_tags"]
        if not isinstance(tokens, list) or not isinstance(tags, list) or len(tokens) != len(tags):
            raise ValueError(f"{split} row {number}: tokens and ner_tags must be lists of the same length")
        if not all(isinstance(tag, str) for tag in tags):
            raise ValueError(f"{split} row {number}: ner_tags must be BIO tag names (B-ORG, I-ORG, O)")


def run(spec: RunSpec, params: Any, events: EventLog) -> tuple[str, dict[str, Any]]:
    train_rows = read_jsonl(spec.train)
    _check(train_rows, "train")
    tags = sorted({tag for row in train_rows for tag in row["ner_tags"]} | {"O"})
    tag_ids = {tag: index for index, tag in enumerate(tags)}
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model_folder, local_files_only=True)
    if not tokenizer.is_fast:
        raise ValueError(
            "token classification needs a fast tokenizer (tokenizer.json) to map sub-words to words"
        )
    model = AutoModelForTokenClassification.from_pretrained(
        spec.base_model_folder,
        local_files_only=True,
        use_safetensors=True,
        num_labels=len(tags),
        id2label=dict(enumerate(tags)),
        label2id=tag_ids,
    )

    def encode(rows: list[dict[str, Any]]) -> tuple[Dataset, list[list[int | None]]]:
        encoded = tokenizer(
            [[str(word) for word in row["tokens"]] for row in rows],
            is_split_into_words=True,
            truncation=True,
            max_length=params.max_length,
        )
        labels, word_maps = [], []
        for index, row in enumerate(rows):
            word_ids = encoded.word_ids(batch_index=index)
            previous = None
            row_labels = []
            for word in word_ids:
                first = word is not None and word != previous
                row_labels.append(tag_ids.get(row["ner_tags"][word], tag_ids["O"]) if first else IGNORED)
                previous = word
            labels.append(row_labels)
            word_maps.append(word_ids)
        encoded["labels"] = labels
        return Dataset.from_dict(dict(encoded)), word_maps

    train_set, _maps = encode(train_rows)
    validation = validation_rows(spec)
    if validation is not None:
        _check(validation, "validation")
    trainer = Trainer(
        model=model,
        args=trainer_setup.training_arguments(spec, params),
        train_dataset=train_set,
        eval_dataset=None if validation is None else encode(validation)[0],
        data_collator=DataCollatorForTokenClassification(tokenizer),
        processing_class=tokenizer,
        callbacks=[trainer_setup.reporting(spec, events)],
    )
    trainer_setup.train(trainer, spec, events)
    trainer_setup.save_model(trainer.model, tokenizer, spec, events)

    split, rows = ("test", read_jsonl(spec.test)) if spec.test else ("train", train_rows)
    _check(rows, split)
    if not rows:
        return split, {"rows": 0}
    test_set, word_maps = encode(rows)
    logits = trainer.predict(test_set).predictions
    truth, predicted = [], []
    for row, row_logits, word_ids in zip(rows, logits, word_maps, strict=True):
        best = np.argmax(row_logits, axis=-1)
        words: dict[int, str] = {}
        for position, word in enumerate(word_ids):
            if word is not None and word not in words:
                words[word] = tags[int(best[position])]
        # Words cut off by max_length are predicted O: the model never saw them.
        predicted.append([words.get(index, "O") for index in range(len(row["ner_tags"]))])
        truth.append(list(row["ner_tags"]))
    return split, ner_metrics(truth=truth, predicted=predicted)


def ner_metrics(*, truth: list[list[str]], predicted: list[list[str]]) -> dict[str, Any]:
    pairs = [(a, b) for t, p in zip(truth, predicted, strict=True) for a, b in zip(t, p, strict=True)]
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    return {
        "rows": len(truth),
        "entity_f1": float(f1_score(truth, predicted, zero_division=0)),
        "entity_precision": float(precision_score(truth, predicted, zero_division=0)),
        "entity_recall": float(recall_score(truth, predicted, zero_division=0)),
        "token_accuracy": sum(a == b for a, b in pairs) / len(pairs) if pairs else None,
        "per_type": {
            name: {
                "precision": float(v["precision"]),
                "recall": float(v["recall"]),
                "f1": float(v["f1-score"]),
                "support": int(v["support"]),
            }
            for name, v in report.items()
            if name not in {"micro avg", "macro avg", "weighted avg"}
        },
    }
