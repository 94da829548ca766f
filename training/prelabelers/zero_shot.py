"""Zero-shot by label description: for a project with no labels yet, each choice of a Choices control over
a Text object is described in words (its description from the settings, else the template filled
with its name), embedded with MiniLM like the task text, and the task gets the choice whose
description is most similar (cosine).

Scores: a softmax of the similarities divided by ``temperature`` (cosine similarities of MiniLM
embeddings differ by a few hundredths, so a small temperature spreads them into usable
probabilities); ``score`` is the chosen choice's, ``uncertainty`` the entropy of those probabilities
over log(choices). A ``choice="multiple"`` control gets every choice reaching ``threshold``, else
the most likely one. The model version is a digest of what decides the answers (the encoder, the
choices, their descriptions and the temperature), so changing a description starts a new version.
"""

import hashlib
import json
import math
from functools import cached_property

import numpy as np
from django.utils.translation import gettext as _
from rest_framework import serializers

from training.encoders import ENCODER_NAME, encode
from training.prelabelers.base import Backend, BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.text_targets import (
    TextSettings,
    TextTarget,
    choices_result,
    normalised_entropy,
    pick_multiple,
    task_text,
    text_target,
)

DEFAULT_TEMPLATE = "This text is about {label}."


def _finite(value: float) -> None:
    if not math.isfinite(value):
        raise serializers.ValidationError(_("Must be a finite number."))


def _has_label_slot(value: str) -> None:
    if "{label}" not in value:
        raise serializers.ValidationError(_("The template must contain {label}."))


class ZeroShotSettings(TextSettings):
    descriptions = serializers.DictField(
        child=serializers.CharField(max_length=2000),
        required=False,
        default=dict,
        help_text='A description per choice, {"<choice>": "text"}; choices without one use the template.',
    )
    template = serializers.CharField(
        required=False,
        max_length=1000,
        default=DEFAULT_TEMPLATE,
        validators=[_has_label_slot],
        help_text="The description of a choice without one; {label} is replaced by the choice's name.",
    )
    temperature = serializers.FloatField(
        required=False,
        min_value=0.001,
        max_value=10.0,
        default=0.05,
        validators=[_finite],
        help_text="Softmax temperature over the cosine similarities: smaller makes the scores sharper.",
    )
    threshold = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        default=0.5,
        validators=[_finite],
        help_text='A choice="multiple" control: each choice whose probability reaches it is chosen.',
    )

    def validate_descriptions(self, value: dict) -> dict:
        if len(value) > 1000:
            raise serializers.ValidationError(_("At most 1,000 descriptions."))
        return value


class ZeroShot(Backend):
    name = "zero_shot"
    batch_size = 256
    encode_batch_size = 64
    settings_serializer = ZeroShotSettings

    @cached_property
    def target(self) -> TextTarget:
        return text_target(self.schema, control=self.settings.get("control") or None, tag="choices")

    def check(self) -> None:
        unknown = sorted(set(self.settings.get("descriptions") or {}) - set(self.target.labels))
        if unknown:
            raise BackendUnfit(
                _("Descriptions of choices the control %(control)s does not have: %(labels)s.")
                % {"control": self.target.control, "labels": ", ".join(unknown)},
                field="settings.descriptions",
            )

    @cached_property
    def label_texts(self) -> list[str]:
        descriptions = self.settings.get("descriptions") or {}
        template = self.settings.get("template") or DEFAULT_TEMPLATE
        # replace, not str.format: a template is user text, and format would read attributes it names.
        return [descriptions.get(label) or template.replace("{label}", label) for label in self.target.labels]

    @property
    def _temperature(self) -> float:
        return float(self.settings.get("temperature", 0.05))

    @property
    def _max_length(self) -> int:
        return int(self.settings.get("max_length", 128))

    def model_version(self) -> str:
        decided_by = {
            "encoder": ENCODER_NAME,
            "labels": list(self.target.labels),
            "texts": self.label_texts,
            "temperature": self._temperature,
            "max_length": self._max_length,
        }
        digest = hashlib.sha256(json.dumps(decided_by, ensure_ascii=False).encode()).hexdigest()[:12]
        return f"{self.name}:{digest}"

    @cached_property
    def label_embeddings(self) -> np.ndarray:
        return encode(self.label_texts, batch_size=self.encode_batch_size, max_length=self._max_length)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        similarity = encode(texts, batch_size=self.encode_batch_size, max_length=self._max_length) @ (
            self.label_embeddings.T
        )
        scaled = similarity / self._temperature
        exponentials = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        target = self.target
        version = self.model_version()
        answers: list[PredictionOut | Dropped] = []
        readable = []
        for task in tasks:
            if task_text(task.data, target) is None:
                reason = _("The task has no text in $%(field)s.") % {"field": target.variable}
                answers.append(Dropped(task.id, reason))
            else:
                readable.append(task)
        if not readable:
            return answers
        probabilities = self.probabilities([str(task_text(task.data, target)) for task in readable])
        uncertainty = normalised_entropy(probabilities)
        threshold = float(self.settings.get("threshold", 0.5))
        for row, task in enumerate(readable):
            if target.multiple:
                picked = pick_multiple(probabilities[row], threshold)
            else:
                picked = [int(np.argmax(probabilities[row]))]
            answers.append(
                PredictionOut(
                    task_id=task.id,
                    result=[
                        choices_result(
                            target,
                            [target.labels[index] for index in picked],
                            model_version=version,
                            task_id=task.id,
                        )
                    ],
                    score=float(probabilities[row, picked].max()),
                    uncertainty=float(uncertainty[row]),
                )
            )
        return answers
