"""What the text backends share: the control they answer and the text it labels, read from a project's
config; the results they write; their scores. Plain Python, no ORM.

A text backend answers one control of the config (a ``Choices`` control for a classifier, a ``Labels``
control for spans) that points at a ``Text`` object; the task text is that object's ``$variable``,
so a task with several text fields is read through the field the control labels.
"""

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from rest_framework import serializers

from annotation.label_config import LabelSchema
from training.encoders import DEFAULT_MAX_LENGTH
from training.prelabelers.base import BackendUnfit, Example

TEXT_TAG = "text"


@dataclass(frozen=True)
class TextTarget:
    control: str  # the control's name: the results' from_name
    tag: str  # "choices" or "labels": the results' type
    to_name: str  # the Text object it labels
    variable: str  # the task data key that object shows
    labels: tuple[str, ...]
    multiple: bool  # a Choices control with choice="multiple"


def text_target(schema: LabelSchema, *, control: str | None, tag: str) -> TextTarget:
    """The named control, or the config's first ``tag`` control over a Text object; BackendUnfit otherwise."""
    if control:
        spec = schema.controls.get(control)
        if spec is None or spec.tag != tag:
            raise BackendUnfit(
                _('The label config has no <%(tag)s name="%(name)s"> control.')
                % {"tag": tag.capitalize(), "name": control},
                field="settings.control",
            )
        candidates = [spec]
    else:
        candidates = [spec for spec in schema.controls.values() if spec.tag == tag]
    for spec in candidates:
        text_objects = [name for name in spec.to_names if schema.objects[name].tag == TEXT_TAG]
        if not text_objects:
            continue
        if len(spec.labels) < 2 and tag == "choices":
            raise BackendUnfit(
                _("The control %(name)s has fewer than two choices; there is nothing to choose between.")
                % {"name": spec.name},
                field="settings.control" if control else "backend",
            )
        if not spec.labels:
            raise BackendUnfit(
                _("The control %(name)s has no labels.") % {"name": spec.name},
                field="settings.control" if control else "backend",
            )
        parsed = schema.interface.get_control(spec.name)
        multiple = tag == "choices" and str(parsed.get_attr("choice", "single")).lower() == "multiple"
        return TextTarget(
            control=spec.name,
            tag=tag,
            to_name=text_objects[0],
            variable=schema.objects[text_objects[0]].variable,
            labels=spec.labels,
            multiple=multiple,
        )
    raise BackendUnfit(
        _("This backend needs a <%(tag)s> control over a <Text> object in the label config.")
        % {"tag": tag.capitalize()},
        field="settings.control" if control else "backend",
    )


def task_text(data: dict[str, Any], target: TextTarget) -> str | None:
    """The text the control labels; None when the task has none (the backend drops such a task)."""
    value = data.get(target.variable)
    return value if isinstance(value, str) else None


def example_choices(example: Example, target: TextTarget) -> list[str]:
    """The labels of the target control that an example's result chose, in the control's order;
    labels the config no longer has are left out."""
    chosen: set[str] = set()
    for region in example.result:
        if not isinstance(region, dict) or region.get("from_name") != target.control:
            continue
        value = region.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if isinstance(choices, list):
            chosen.update(choice for choice in choices if isinstance(choice, str))
    return [label for label in target.labels if label in chosen]


def region_id(model_version: str, task_id: int, index: int) -> str:
    """A region id fixed by model version, task and position, so that a rerun writes the same result."""
    return hashlib.blake2b(f"{model_version}\0{task_id}\0{index}".encode(), digest_size=5).hexdigest()


def choices_result(target: TextTarget, labels: list[str], *, model_version: str, task_id: int) -> dict:
    return {
        "id": region_id(model_version, task_id, 0),
        "from_name": target.control,
        "to_name": target.to_name,
        "type": "choices",
        "value": {"choices": labels},
    }


def normalised_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy of each row of probabilities divided by its maximum, log(columns): 0 when the model is
    sure of one class, 1 when every class is equally likely. Rows of one column are 0."""
    columns = probabilities.shape[1]
    if columns < 2:
        return np.zeros(probabilities.shape[0])
    clipped = np.clip(probabilities, 1e-12, 1.0)
    entropy = -(probabilities * np.log(clipped)).sum(axis=1)
    return np.clip(entropy / math.log(columns), 0.0, 1.0)


def binary_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy in bits of independent yes/no probabilities, elementwise: 0 when sure, 1 at 0.5."""
    p = np.clip(probabilities, 1e-12, 1 - 1e-12)
    return np.clip(-(p * np.log2(p) + (1 - p) * np.log2(1 - p)), 0.0, 1.0)


def pick_multiple(probabilities: np.ndarray, threshold: float) -> list[int]:
    """For a multiple-choice control: every label at or over the threshold, else the single most likely
    one (a suggestion with no choice would leave the annotator nothing to correct)."""
    chosen = [index for index, p in enumerate(probabilities) if p >= threshold]
    return chosen or [int(np.argmax(probabilities))]


class TextSettings(serializers.Serializer):
    """Settings every text backend takes."""

    control = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        default="",
        help_text="The name of the control to answer; empty: the config's first one over a Text object.",
    )
    max_length = serializers.IntegerField(
        required=False,
        min_value=8,
        max_value=512,
        default=DEFAULT_MAX_LENGTH,
        help_text="Tokens of each text the model reads; the rest is cut.",
    )
