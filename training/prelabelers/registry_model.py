"""A model from Tessera's model registry: a Hugging Face folder (config.json, safetensors weights, a
fast tokenizer) at ``DATA_DIR/models/registry/<model>/<version>/``. The training issue fills the
registry; this backend reads it.

- Sequence classification answers a Choices control over a Text object: every label of the model's
  ``id2label`` must be a choice of the control. A ``multi_label_classification`` model on a
  ``choice="multiple"`` control chooses each label whose sigmoid reaches ``threshold``; otherwise the
  softmax's most likely label. ``score``: that label's probability; ``uncertainty``: the entropy over
  log(labels) (multi-label: the mean binary entropy).
- Token classification answers a Labels control over a Text object with spans. Labels are BIO-style
  (``B-ORG``, ``I-ORG``, ``O``; E-, S-, L-, U- are read too) or plain names (``ORG``, ``O``). Each word
  (the tokenizer's pre-tokenized word) takes the label of its first piece; a span starts at a B- word
  (or a word whose entity differs from the one before) and grows over following I- words of the same
  entity (plain labels: over following words of the same name). Offsets come from the tokenizer's
  offset mapping, which counts code points of the original text, as Label Studio's Text spans do, so
  Japanese text gets exact offsets. A long text is read in overlapping windows of ``max_length``
  tokens; a word is labeled by the first window that holds it. ``score``: the mean probability of
  the spans' labels (no span: of the words' labels); ``uncertainty``: the words' mean entropy over
  log(labels).

Names are checked (``[A-Za-z0-9._-]``, not starting with a dot) and the resolved folder must lie under
the registry root, so neither ``..`` nor a symbolic link reaches another folder. Weights load with
``use_safetensors=True`` and ``local_files_only=True``: never a pickle, never a download.
"""

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from rest_framework import serializers

from training.prelabelers.base import Backend, BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.text_targets import (
    TextSettings,
    TextTarget,
    binary_entropy,
    choices_result,
    normalised_entropy,
    pick_multiple,
    region_id,
    task_text,
    text_target,
)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

SEQUENCE_CLASSIFICATION = "sequence_classification"
TOKEN_CLASSIFICATION = "token_classification"  # noqa: S105 - a kind of model, not a secret
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_BIO = re.compile(r"^([BIESLU])-(.+)$")
_STARTS = {"B", "S", "U"}  # these begin a span; I-, E- and L- continue one of the same entity
STRIDE = 32  # tokens two windows of a long text share, so that a word cut at a window's end is seen whole
FORWARD_BATCH = 32  # texts (or windows) per forward pass


def registry_root() -> Path:
    return Path(django_settings.DATA_DIR) / "models" / "registry"


def _safe_name(value: str) -> None:
    if not _SAFE_NAME.match(value):
        raise serializers.ValidationError(
            _("Use letters, digits, dots, hyphens and underscores only, not starting with a dot.")
        )


class RegistryModelSettings(TextSettings):
    model = serializers.CharField(
        max_length=100, validators=[_safe_name], help_text="The model's name in the registry."
    )
    version = serializers.CharField(
        max_length=60, validators=[_safe_name], help_text="The model's version in the registry."
    )
    threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        default=0.5,
        help_text='A multi-label model on a choice="multiple" control: each label reaching it is chosen.',
    )


@dataclass(frozen=True)
class _Loaded:
    tokenizer: "PreTrainedTokenizerBase"
    model: "PreTrainedModel"


_cache_lock = threading.Lock()
_cache: "OrderedDict[tuple[str, int], _Loaded]" = OrderedDict()
_CACHE_SIZE = 2  # models kept per process; a worker usually serves one


def _load(path: Path, kind: str) -> _Loaded:
    """The folder's tokenizer and model, kept per process (keyed by the weights' modification time, so a
    version rewritten in place is read again)."""
    stamp = max(entry.stat().st_mtime_ns for entry in path.iterdir())
    key = (str(path), stamp)
    with _cache_lock:
        loaded = _cache.get(key)
        if loaded is not None:
            _cache.move_to_end(key)
            return loaded
        from transformers import (
            AutoModelForSequenceClassification,
            AutoModelForTokenClassification,
            AutoTokenizer,
        )

        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        if not tokenizer.is_fast:
            raise BackendUnfit(
                _("The model's tokenizer has no fast version; its offsets cannot be read."),
                field="settings.model",
            )
        model_class = (
            AutoModelForSequenceClassification
            if kind == SEQUENCE_CLASSIFICATION
            else AutoModelForTokenClassification
        )
        model = model_class.from_pretrained(path, local_files_only=True, use_safetensors=True)
        model.eval()
        loaded = _Loaded(tokenizer=tokenizer, model=model)
        _cache[key] = loaded
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return loaded


@dataclass
class _Word:
    start: int
    end: int
    probabilities: np.ndarray  # of its first piece


@dataclass
class _Span:
    start: int
    end: int
    entity: str
    probabilities: list[float] = field(default_factory=list)


class RegistryModel(Backend):
    name = "registry_model"
    batch_size = 64
    settings_serializer = RegistryModelSettings

    # The registry folder and what its config says

    @cached_property
    def path(self) -> Path:
        root = registry_root().resolve()
        model, version = str(self.settings.get("model", "")), str(self.settings.get("version", ""))
        for key, value in (("model", model), ("version", version)):
            if not _SAFE_NAME.match(value):
                raise BackendUnfit(_("This name is not allowed."), field=f"settings.{key}")
        path = (root / model / version).resolve()
        # A symbolic link inside the registry could still point elsewhere: the resolved path decides.
        if not path.is_relative_to(root):
            raise BackendUnfit(_("The model's folder lies outside the registry."), field="settings.model")
        if not (path / "config.json").is_file():
            missing_model = not (root / model).resolve().is_dir()
            raise BackendUnfit(
                _("The registry has no model %(model)s version %(version)s.")
                % {"model": model, "version": version},
                field="settings.model" if missing_model else "settings.version",
            )
        if not any(path.glob("*.safetensors")):
            raise BackendUnfit(
                _("The model's folder holds no safetensors weights (other formats are not loaded)."),
                field="settings.version",
            )
        return path

    @cached_property
    def config(self) -> dict[str, Any]:
        try:
            value = json.loads((self.path / "config.json").read_text())
        except (OSError, ValueError) as exc:
            raise BackendUnfit(
                _("The model's config.json cannot be read."), field="settings.version"
            ) from exc
        if not isinstance(value, dict):
            raise BackendUnfit(_("The model's config.json cannot be read."), field="settings.version")
        return value

    @cached_property
    def kind(self) -> str:
        architectures = self.config.get("architectures") or []
        if any(str(name).endswith("ForSequenceClassification") for name in architectures):
            return SEQUENCE_CLASSIFICATION
        if any(str(name).endswith("ForTokenClassification") for name in architectures):
            return TOKEN_CLASSIFICATION
        raise BackendUnfit(
            _("The model is neither a sequence nor a token classifier (its architectures: %(names)s).")
            % {"names": ", ".join(map(str, architectures)) or "-"},
            field="settings.model",
        )

    @cached_property
    def model_labels(self) -> list[str]:
        """id2label in id order."""
        raw = self.config.get("id2label") or {}
        try:
            pairs = sorted((int(key), str(value)) for key, value in raw.items())
        except (AttributeError, ValueError) as exc:
            raise BackendUnfit(_("The model's id2label cannot be read."), field="settings.model") from exc
        if not pairs or [key for key, _value in pairs] != list(range(len(pairs))):
            raise BackendUnfit(_("The model's id2label cannot be read."), field="settings.model")
        return [value for _key, value in pairs]

    @cached_property
    def bio(self) -> bool:
        """Whether the token labels carry B-/I- prefixes (every label but O has one)."""
        return all(label == "O" or _BIO.match(label) for label in self.model_labels)

    def _entity(self, label: str) -> tuple[str, str | None]:
        """(prefix, entity) of a token label; the entity is None outside any span."""
        if label == "O":
            return "", None
        match = _BIO.match(label) if self.bio else None
        return (match.group(1), match.group(2)) if match else ("", label)

    @cached_property
    def target(self) -> TextTarget:
        tag = "choices" if self.kind == SEQUENCE_CLASSIFICATION else "labels"
        return text_target(self.schema, control=self.settings.get("control") or None, tag=tag)

    def check(self) -> None:
        target = self.target
        if self.kind == SEQUENCE_CLASSIFICATION:
            answers = self.model_labels
        else:
            answers = list(
                dict.fromkeys(e for e in (self._entity(label)[1] for label in self.model_labels) if e)
            )
        missing = [label for label in answers if label not in target.labels]
        if missing:
            raise BackendUnfit(
                _("The model's labels %(labels)s are not labels of the control %(control)s.")
                % {"labels": ", ".join(missing), "control": target.control},
                field="settings.model",
            )

    def model_version(self) -> str:
        return f"{self.name}:{self.settings.get('model')}:{self.settings.get('version')}"

    # Predicting

    @property
    def _max_length(self) -> int:
        return int(self.settings.get("max_length", 128))

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        self.check()
        target = self.target
        answers: list[PredictionOut | Dropped] = []
        readable: list[tuple[TaskInput, str]] = []
        for task in tasks:
            text = task_text(task.data, target)
            if text is None:
                reason = _("The task has no text in $%(field)s.") % {"field": target.variable}
                answers.append(Dropped(task.id, reason))
            else:
                readable.append((task, text))
        if readable:
            loaded = _load(self.path, self.kind)
            for start in range(0, len(readable), FORWARD_BATCH):
                chunk = readable[start : start + FORWARD_BATCH]
                if self.kind == SEQUENCE_CLASSIFICATION:
                    answers.extend(self._classify(loaded, chunk))
                else:
                    answers.extend(self._spans(loaded, chunk))
        return answers

    @staticmethod
    def _forward(loaded: _Loaded, encoded: Any) -> np.ndarray:
        import torch

        inputs = {
            name: encoded[name]
            for name in ("input_ids", "attention_mask", "token_type_ids")
            if name in encoded
        }
        with torch.inference_mode():
            return loaded.model(**inputs).logits.float().numpy()

    def _classify(self, loaded: _Loaded, chunk: list[tuple[TaskInput, str]]) -> list[PredictionOut]:
        target, version = self.target, self.model_version()
        encoded = loaded.tokenizer(
            [text for _task, text in chunk],
            padding=True,
            truncation=True,
            max_length=self._max_length,
            return_tensors="pt",
        )
        logits = self._forward(loaded, encoded)
        multi_label = target.multiple and self.config.get("problem_type") == "multi_label_classification"
        if multi_label:
            probabilities = 1.0 / (1.0 + np.exp(-logits))
            uncertainty = binary_entropy(probabilities).mean(axis=1)
        else:
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
            uncertainty = normalised_entropy(probabilities)
        threshold = float(self.settings.get("threshold", 0.5))
        out = []
        for row, (task, _text) in enumerate(chunk):
            picked = (
                pick_multiple(probabilities[row], threshold)
                if multi_label
                else [int(np.argmax(probabilities[row]))]
            )
            labels = [self.model_labels[index] for index in picked]
            out.append(
                PredictionOut(
                    task_id=task.id,
                    result=[choices_result(target, labels, model_version=version, task_id=task.id)],
                    score=float(probabilities[row, picked].max()),
                    uncertainty=float(uncertainty[row]),
                )
            )
        return out

    def _spans(self, loaded: _Loaded, chunk: list[tuple[TaskInput, str]]) -> list[PredictionOut]:
        target, version = self.target, self.model_version()
        encoded = loaded.tokenizer(
            [text for _task, text in chunk],
            padding=True,
            truncation=True,
            max_length=self._max_length,
            stride=min(STRIDE, self._max_length // 4),
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        windows = encoded["input_ids"].shape[0]
        logits = np.concatenate(
            [
                self._forward(
                    loaded, {name: value[start : start + FORWARD_BATCH] for name, value in encoded.items()}
                )
                for start in range(0, windows, FORWARD_BATCH)
            ]
        )
        shifted = np.exp(logits - logits.max(axis=2, keepdims=True))
        probabilities = shifted / shifted.sum(axis=2, keepdims=True)
        samples = encoded["overflow_to_sample_mapping"].tolist()
        offsets = encoded["offset_mapping"].tolist()

        # Words per text: the first window holding a word's first piece labels it; later pieces widen it.
        words: list[dict[int, _Word]] = [{} for _ in chunk]
        for window in range(windows):
            sample = samples[window]
            for position, word_index in enumerate(encoded.word_ids(window)):
                start, end = offsets[window][position]
                if word_index is None or end <= start:
                    continue
                word = words[sample].get(word_index)
                if word is None:
                    words[sample][word_index] = _Word(start, end, probabilities[window, position])
                elif start >= word.end:  # a later piece (a window's overlap repeats the earlier ones)
                    word.end = end

        out = []
        for (task, text), text_words in zip(chunk, words, strict=True):
            ordered = [text_words[index] for index in sorted(text_words)]
            spans: list[_Span] = []
            current: _Span | None = None
            for word in ordered:
                best = int(np.argmax(word.probabilities))
                prefix, entity = self._entity(self.model_labels[best])
                if entity is None:
                    current = None
                    continue
                continues = prefix not in _STARTS if self.bio else True
                if current is not None and current.entity == entity and continues:
                    current.end = word.end
                else:
                    current = _Span(word.start, word.end, entity)
                    spans.append(current)
                current.probabilities.append(float(word.probabilities[best]))
            result = [
                {
                    "id": region_id(version, task.id, index),
                    "from_name": target.control,
                    "to_name": target.to_name,
                    "type": "labels",
                    "value": {
                        "start": span.start,
                        "end": span.end,
                        "text": text[span.start : span.end],
                        "labels": [span.entity],
                    },
                    "score": float(np.mean(span.probabilities)),
                }
                for index, span in enumerate(spans)
            ]
            if ordered:
                matrix = np.stack([word.probabilities for word in ordered])
                chosen = [float(np.mean(span.probabilities)) for span in spans] or list(matrix.max(axis=1))
                score: float | None = float(np.mean(chosen))
                uncertainty: float | None = float(normalised_entropy(matrix).mean())
            else:  # an empty text: nothing to label, nothing to be sure or unsure of
                score = uncertainty = None
            out.append(PredictionOut(task_id=task.id, result=result, score=score, uncertainty=uncertainty))
        return out
