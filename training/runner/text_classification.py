"""Text classification: rows {"text", "label"}; a sequence-classification head on the encoder.

Labels are the training split's values, sorted; test rows with a label the training split never had count
as errors (the model cannot predict them). Evaluation: accuracy, macro-F1 and the confusion matrix
(scikit-learn), beside the majority baseline (the most frequent training label, always predicted).
"""

from collections import Counter
from typing import Any

import numpy as np
from datasets import Dataset
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from transformers import AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer

from training.runner import trainer_setup
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec, read_jsonl, require_columns, validation_rows

COLUMNS = ("text", "label")


def run(spec: RunSpec, params: Any, events: EventLog) -> tuple[str, dict[str, Any]]:
    train_rows = read_jsonl(spec.train)
    require_columns(train_rows, COLUMNS, split="train")
    labels = sorted({str(row["label"]) for row in train_rows})
    if len(labels) < 2:
        raise ValueError("the training split has fewer than two labels")
    label_ids = {label: index for index, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(spec.base_model_folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        spec.base_model_folder,
        local_files_only=True,
        use_safetensors=True,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id=label_ids,
    )

    def encode(rows: list[dict[str, Any]]) -> Dataset:
        known = [row for row in rows if str(row["label"]) in label_ids]
        encoded = tokenizer(
            [str(row["text"]) for row in known], truncation=True, max_length=params.max_length
        )
        encoded["labels"] = [label_ids[str(row["label"])] for row in known]
        return Dataset.from_dict(dict(encoded))

    trainer = Trainer(
        model=model,
        args=trainer_setup.training_arguments(spec, params),
        train_dataset=encode(train_rows),
        eval_dataset=None if (validation := validation_rows(spec)) is None else encode(validation),
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        callbacks=[trainer_setup.reporting(spec, events)],
    )
    trainer_setup.train(trainer, spec, events)
    trainer_setup.save_model(trainer.model, tokenizer, spec, events)

    split, rows = ("test", read_jsonl(spec.test)) if spec.test else ("train", train_rows)
    require_columns(rows, COLUMNS, split=split)
    predicted_ids = []
    if rows:
        texts = Dataset.from_dict(
            dict(tokenizer([str(row["text"]) for row in rows], truncation=True, max_length=params.max_length))
        )
        predicted_ids = np.argmax(trainer.predict(texts).predictions, axis=-1).tolist()
    predicted = [labels[index] for index in predicted_ids]
    return split, classification_metrics(
        truth=[str(row["label"]) for row in rows],
        predicted=predicted,
        labels=labels,
        majority=Counter(str(row["label"]) for row in train_rows).most_common(1)[0][0],
    )


def classification_metrics(
    *, truth: list[str], predicted: list[str], labels: list[str], majority: str
) -> dict[str, Any]:
    every = sorted(set(labels) | set(truth))
    return {
        "rows": len(truth),
        "accuracy": float(accuracy_score(truth, predicted)) if truth else None,
        "macro_f1": float(f1_score(truth, predicted, labels=every, average="macro", zero_division=0))
        if truth
        else None,
        "majority_label": majority,
        "majority_baseline_accuracy": sum(label == majority for label in truth) / len(truth)
        if truth
        else None,
        "confusion_matrix": {
            "labels": every,  # rows: the true label, columns: the predicted one
            "matrix": confusion_matrix(truth, predicted, labels=every).tolist() if truth else [],
        },
    }
