"""Embedding classifier: MiniLM sentence embeddings and a light scikit-learn classifier, for a Choices
control over a Text object.

``fit`` encodes the labeled examples' texts (training/encoders.py) and fits logistic regression
(multinomial; one-vs-rest per label for a ``choice="multiple"`` control) or k-nearest neighbours by
cosine. Each fit is a new model version, ``embedding_classifier:<n>`` for the pre-labeler's n-th fit,
kept in ``model_dir/<n>/`` as ``model.json`` (classes, settings, what the fit reports) and
``arrays.npz`` (logistic regression: ``coef`` and ``intercept``; k-nearest neighbours: the examples'
``embeddings`` and ``targets``), read back with ``allow_pickle=False``: nothing is ever unpickled.

Scores: ``score`` is the probability of the chosen class (multiple choice: the mean over labels of
the probability of the yes/no decision taken). ``uncertainty`` is the entropy of the class
probabilities divided by log(classes), 0 (sure) to 1 (every class equally likely); for multiple
choice, the mean binary entropy of the per-label probabilities. Uncertainty sampling asks first for
the tasks where it is highest.
"""

import json
import math
import os
import re
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.utils.translation import gettext as _
from rest_framework import serializers

from training.encoders import ENCODER_NAME, encode
from training.prelabelers.base import (
    Backend,
    BackendUnfit,
    Dropped,
    Example,
    FitResult,
    PredictionOut,
    TaskInput,
)
from training.prelabelers.text_targets import (
    TextSettings,
    TextTarget,
    binary_entropy,
    choices_result,
    example_choices,
    normalised_entropy,
    pick_multiple,
    task_text,
    text_target,
)

if TYPE_CHECKING:
    from annotation.label_config import LabelSchema
    from training.models import Prelabeler

LOGISTIC_REGRESSION = "logistic_regression"
KNN = "knn"
MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
FORMAT = 1  # of model.json and arrays.npz; a later layout bumps it
HELD_OUT_MIN_EXAMPLES = 20  # fewer and a held-out figure says more about chance than about the model
HELD_OUT_SHARE = 0.2
_VERSION = re.compile(r"^embedding_classifier:(\d+)$")


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError(_("Must be a finite number."))


class EmbeddingClassifierSettings(TextSettings):
    classifier = serializers.ChoiceField(
        choices=[LOGISTIC_REGRESSION, KNN],
        required=False,
        default=LOGISTIC_REGRESSION,
        help_text="logistic_regression (multinomial) or knn (k nearest neighbours by cosine).",
    )
    k = serializers.IntegerField(
        required=False, min_value=1, max_value=200, default=15, help_text="Neighbours that vote (knn)."
    )
    c = serializers.FloatField(
        required=False,
        min_value=1e-4,
        max_value=1e6,
        default=10.0,
        validators=[_finite],
        help_text="Inverse regularisation strength of logistic regression (larger: fits the examples closer).",
    )
    min_examples = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        default=2,
        help_text="Examples a label needs to be learned; labels with fewer are left out of the fit.",
    )
    threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        default=0.5,
        validators=[_finite],
        help_text='A choice="multiple" control: each label whose probability reaches it is chosen.',
    )


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * values))  # overflow-free logistic function


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@dataclass
class FittedModel:
    """A fit as saved: ``probabilities(embeddings)`` gives one column per class (multiple choice: the
    probability that each label applies)."""

    classifier: str
    multiple: bool
    classes: list[str]
    arrays: dict[str, np.ndarray]
    k: int

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        if self.classifier == LOGISTIC_REGRESSION:
            logits = embeddings @ self.arrays["coef"].T + self.arrays["intercept"]
            if self.multiple:
                return _sigmoid(logits)
            if len(self.classes) == 2 and logits.shape[1] == 1:  # scikit-learn's binary case: one row
                positive = _sigmoid(logits[:, 0])
                return np.stack([1.0 - positive, positive], axis=1)
            return _softmax(logits)
        return self._neighbour_votes(embeddings)

    def _neighbour_votes(self, embeddings: np.ndarray) -> np.ndarray:
        """The share of the k most similar examples (cosine: the rows are unit vectors) in each class,
        as scikit-learn's KNeighborsClassifier with uniform weights computes it."""
        stored, targets = self.arrays["embeddings"], self.arrays["targets"]
        k = min(self.k, stored.shape[0])
        similarity = embeddings @ stored.T
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        if self.multiple:  # targets: one row of 0/1 per example, a column per label
            return targets[nearest].mean(axis=1)
        votes = np.zeros((embeddings.shape[0], len(self.classes)))
        for column in range(k):
            np.add.at(votes, (np.arange(embeddings.shape[0]), targets[nearest[:, column]]), 1.0)
        return votes / k

    def save(self, directory: Path, meta: dict[str, Any]) -> None:
        directory.mkdir(parents=True)
        # Typed as Any: numpy's stubs read the keyword arrays as its own allow_pickle argument.
        arrays: dict[str, Any] = self.arrays
        np.savez(directory / ARRAYS_FILE, **arrays)
        description = {
            "format": FORMAT,
            "classifier": self.classifier,
            "multiple": self.multiple,
            "classes": self.classes,
            "k": self.k,
            **meta,
        }
        (directory / MODEL_FILE).write_text(json.dumps(description, ensure_ascii=False, indent=1))

    @classmethod
    def load(cls, directory: Path) -> "FittedModel":
        description = json.loads((directory / MODEL_FILE).read_text())
        if description.get("format") != FORMAT:
            raise BackendUnfit(_("The saved model has an unknown format; fit it again."), field="backend")
        with np.load(directory / ARRAYS_FILE, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        return cls(
            classifier=description["classifier"],
            multiple=description["multiple"],
            classes=list(description["classes"]),
            arrays=arrays,
            k=int(description["k"]),
        )


def fit_model(
    embeddings: np.ndarray,
    targets: np.ndarray,
    *,
    classes: list[str],
    multiple: bool,
    classifier: str,
    k: int,
    c: float,
) -> FittedModel:
    """Fit scikit-learn's classifier on unit-length embeddings. ``targets``: class indexes (single
    choice) or a 0/1 matrix with a column per class (multiple choice)."""
    if classifier == KNN:
        # k-nearest neighbours learns nothing beyond its examples: they are the model.
        stored_targets = targets.astype(np.int8 if multiple else np.int32)
        return FittedModel(
            classifier=KNN,
            multiple=multiple,
            classes=classes,
            arrays={"embeddings": embeddings.astype(np.float32), "targets": stored_targets},
            k=k,
        )
    from sklearn.linear_model import LogisticRegression

    if multiple:  # one-vs-rest: one binary model per label
        coefs, intercepts = [], []
        for column in range(targets.shape[1]):
            model = LogisticRegression(C=c, max_iter=1000).fit(embeddings, targets[:, column])
            coefs.append(model.coef_[0])
            intercepts.append(model.intercept_[0])
        coef, intercept = np.array(coefs), np.array(intercepts)
    else:
        model = LogisticRegression(C=c, max_iter=1000).fit(embeddings, targets)
        coef, intercept = model.coef_, model.intercept_
    return FittedModel(
        classifier=LOGISTIC_REGRESSION,
        multiple=multiple,
        classes=classes,
        arrays={"coef": coef.astype(np.float64), "intercept": intercept.astype(np.float64)},
        k=k,
    )


def _held_out_split(targets: np.ndarray, multiple: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Train and test row indexes, stratified by class for single choice, or None when too few examples."""
    count = targets.shape[0]
    if count < HELD_OUT_MIN_EXAMPLES:
        return None
    from sklearn.model_selection import train_test_split

    rows = np.arange(count)
    if multiple:
        train, test = train_test_split(rows, test_size=HELD_OUT_SHARE, random_state=0)
        labels_in_train = targets[train]
        # Each label's yes/no model needs both answers among the training rows.
        if (labels_in_train.min(axis=0) == labels_in_train.max(axis=0)).any():
            return None
        return train, test
    classes = len(np.unique(targets))
    if np.bincount(targets).min() < 2:
        return None
    test_size = max(classes, round(count * HELD_OUT_SHARE))
    train, test = train_test_split(rows, test_size=test_size, random_state=0, stratify=targets)
    return train, test


class EmbeddingClassifier(Backend):
    name = "embedding_classifier"
    learns = True
    # Tasks per predict call: enough that a batch's encoding dwarfs the runner's reads and writes around it.
    batch_size = 256
    encode_batch_size = 64  # texts per forward pass of the encoder
    settings_serializer = EmbeddingClassifierSettings

    def __init__(self, prelabeler: "Prelabeler", schema: "LabelSchema"):
        super().__init__(prelabeler, schema)
        self._version: str = prelabeler.model_version or ""
        self._model: FittedModel | None = None
        self._model_version_loaded = ""

    @cached_property
    def target(self) -> TextTarget:
        return text_target(self.schema, control=self.settings.get("control") or None, tag="choices")

    def check(self) -> None:
        self.target  # noqa: B018 - finding the control is the check

    def model_version(self) -> str:
        return self._version

    # Fitting

    def fit(self, examples: list[Example]) -> FitResult:
        target = self.target
        texts: list[str] = []
        chosen: list[list[str]] = []
        without_text = 0
        for example in examples:
            labels = example_choices(example, target)
            if not labels:
                continue
            text = task_text(example.data, target)
            if text is None:
                without_text += 1
                continue
            texts.append(text)
            chosen.append(labels)

        min_examples = int(self.settings.get("min_examples", 2))
        if target.multiple:
            classes, targets, rows, left_out = self._multiple_targets(target, chosen, min_examples)
        else:
            classes, targets, rows, left_out = self._single_targets(chosen, min_examples)
        texts = [texts[row] for row in rows]

        embeddings = encode(texts, batch_size=self.encode_batch_size, max_length=self._max_length)
        classifier = str(self.settings.get("classifier", LOGISTIC_REGRESSION))

        def fit_on(rows: np.ndarray | slice) -> FittedModel:
            return fit_model(
                embeddings[rows],
                targets[rows],
                classes=classes,
                multiple=target.multiple,
                classifier=classifier,
                k=int(self.settings.get("k", 15)),
                c=float(self.settings.get("c", 10.0)),
            )

        info: dict[str, Any] = {
            "classifier": classifier,
            "encoder": ENCODER_NAME,
            "classes": classes,
            "examples_per_class": dict(zip(classes, _class_counts(targets, len(classes)), strict=True)),
            "left_out_classes": left_out,
            "examples_without_text": without_text,
        }
        split = _held_out_split(targets, target.multiple)
        if split is not None:
            train, test = split
            held_out = fit_on(train).probabilities(embeddings[test])
            info.update(self._held_out_figures(held_out, targets[train], targets[test], target.multiple))

        model = fit_on(slice(None))
        version = self._publish(model, {"control": target.control, "examples": len(texts), "info": info})
        self._version = version
        self._model, self._model_version_loaded = model, version
        return FitResult(model_version=version, examples=len(texts), info=info)

    @property
    def _max_length(self) -> int:
        return int(self.settings.get("max_length", 128))

    @staticmethod
    def _single_targets(
        chosen: list[list[str]], min_examples: int
    ) -> tuple[list[str], np.ndarray, list[int], dict[str, int]]:
        # A single-choice answer holds one label; should an imported one hold several, the first counts.
        counts = Counter(labels[0] for labels in chosen)
        classes = [label for label, count in counts.items() if count >= min_examples]
        classes.sort()
        left_out = {label: count for label, count in counts.items() if count < min_examples}
        if len(classes) < 2:
            raise BackendUnfit(
                _(
                    "The classifier needs labeled examples of at least two choices, each with at least "
                    "%(min)s examples; the examples hold %(found)s."
                )
                % {"min": min_examples, "found": _counts_text(counts)},
                field="examples",
            )
        index = {label: position for position, label in enumerate(classes)}
        rows = [row for row, labels in enumerate(chosen) if labels[0] in index]
        targets = np.array([index[chosen[row][0]] for row in rows], dtype=np.int64)
        return classes, targets, rows, left_out

    @staticmethod
    def _multiple_targets(
        target: TextTarget, chosen: list[list[str]], min_examples: int
    ) -> tuple[list[str], np.ndarray, list[int], dict[str, int]]:
        """Multiple choice: a label is learned when at least min_examples examples chose it and as many
        did not (a yes/no model needs both)."""
        counts = Counter(label for labels in chosen for label in labels)
        total = len(chosen)
        classes = [
            label
            for label in target.labels
            if counts[label] >= min_examples and total - counts[label] >= min_examples
        ]
        left_out = {label: counts[label] for label in target.labels if label not in classes}
        if not classes:
            raise BackendUnfit(
                _(
                    "The classifier needs, for at least one choice, %(min)s examples that chose it and "
                    "%(min)s that did not; the %(total)s examples hold %(found)s."
                )
                % {"min": min_examples, "total": total, "found": _counts_text(counts)},
                field="examples",
            )
        targets = np.array(
            [[1 if label in labels else 0 for label in classes] for labels in chosen], dtype=np.int64
        ).reshape(total, len(classes))
        return classes, targets, list(range(total)), left_out

    def _held_out_figures(
        self, probabilities: np.ndarray, train: np.ndarray, test: np.ndarray, multiple: bool
    ) -> dict[str, Any]:
        if multiple:
            threshold = float(self.settings.get("threshold", 0.5))
            predicted = (probabilities >= threshold).astype(np.int64)
            majority = (train.mean(axis=0) >= 0.5).astype(np.int64)
            return {
                "held_out_examples": int(test.shape[0]),
                "held_out_label_accuracy": float((predicted == test).mean()),
                "majority_label_accuracy": float((majority[None, :] == test).mean()),
            }
        majority = int(np.bincount(train).argmax())
        return {
            "held_out_examples": int(test.shape[0]),
            "held_out_accuracy": float((probabilities.argmax(axis=1) == test).mean()),
            "majority_baseline_accuracy": float((test == majority).mean()),
        }

    def _publish(self, model: FittedModel, meta: dict[str, Any]) -> str:
        """Write the fit under a temporary name and rename it into place as the next number, so a
        reader never sees half a model and two fits at once cannot take the same number."""
        base = self.model_dir
        base.mkdir(parents=True, exist_ok=True)
        staging = base / f".fit-{uuid.uuid4().hex}"
        try:
            model.save(staging, meta)
            number = self._next_number(base)
            while not self._rename(staging, base / str(number)):
                number += 1
        finally:
            if staging.exists():
                shutil.rmtree(staging)
        return f"{self.name}:{number}"

    @staticmethod
    def _rename(source: Path, destination: Path) -> bool:
        if destination.exists():
            return False
        try:
            os.rename(source, destination)
        except OSError:  # taken between the check and the rename (a non-empty directory is never replaced)
            return False
        return True

    def _next_number(self, base: Path) -> int:
        numbers = [int(entry.name) for entry in base.iterdir() if entry.name.isdigit()]
        current = _VERSION.match(self._version)
        if current:
            numbers.append(int(current.group(1)))
        return max(numbers, default=0) + 1

    # Predicting

    def _loaded(self) -> FittedModel:
        version = self._version
        if self._model is not None and self._model_version_loaded == version:
            return self._model
        match = _VERSION.match(version)
        if not match:
            raise BackendUnfit(_("This pre-labeler has not been fitted yet."), field="backend")
        directory = self.model_dir / match.group(1)
        if not (directory / MODEL_FILE).is_file():
            raise BackendUnfit(
                _("The fitted model %(version)s is missing from the data directory; fit it again.")
                % {"version": version},
                field="backend",
            )
        self._model, self._model_version_loaded = FittedModel.load(directory), version
        return self._model

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        target = self.target
        model = self._loaded()
        if model.multiple != target.multiple:
            raise BackendUnfit(
                _("The control changed between single and multiple choice since the fit; fit it again."),
                field="backend",
            )
        version = self._version
        answers: list[PredictionOut | Dropped] = []
        readable: list[TaskInput] = []
        texts: list[str] = []
        for task in tasks:
            text = task_text(task.data, target)
            if text is None:
                answers.append(
                    Dropped(task.id, _("The task has no text in $%(field)s.") % {"field": target.variable})
                )
            else:
                readable.append(task)
                texts.append(text)
        if not readable:
            return answers
        probabilities = model.probabilities(
            encode(texts, batch_size=self.encode_batch_size, max_length=self._max_length)
        )
        # Classes the config has dropped since the fit are never suggested.
        allowed = np.array([label in target.labels for label in model.classes])
        if not allowed.any():
            reason = _("None of the fitted classes is in the label config any more; fit it again.")
            return answers + [Dropped(task.id, reason) for task in readable]
        if model.multiple:
            uncertainty = binary_entropy(probabilities).mean(axis=1)
            decided = np.maximum(probabilities, 1.0 - probabilities).mean(axis=1)
        else:
            uncertainty = normalised_entropy(probabilities)
        threshold = float(self.settings.get("threshold", 0.5))
        for row, task in enumerate(readable):
            row_probabilities = np.where(allowed, probabilities[row], -1.0)
            if model.multiple:
                picked = pick_multiple(row_probabilities, threshold)
                labels = [model.classes[index] for index in picked]
                score = float(decided[row])
            else:
                best = int(np.argmax(row_probabilities))
                labels = [model.classes[best]]
                score = float(probabilities[row, best])
            answers.append(
                PredictionOut(
                    task_id=task.id,
                    result=[choices_result(target, labels, model_version=version, task_id=task.id)],
                    score=score,
                    uncertainty=float(uncertainty[row]),
                )
            )
        return answers


def _class_counts(targets: np.ndarray, classes: int) -> list[int]:
    if targets.ndim == 2:  # multiple choice: a 0/1 column per class
        return [int(count) for count in targets.sum(axis=0)]
    return [int(count) for count in np.bincount(targets, minlength=classes)]


def _counts_text(counts: Counter) -> str:
    if not counts:
        return _("no labeled examples")
    return ", ".join(f"{label}: {count}" for label, count in sorted(counts.items()))
