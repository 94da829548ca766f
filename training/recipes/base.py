"""What a recipe is: a name, the dataset shape it trains on, the base-model kinds it accepts, and a typed
parameter dataclass with ranges and defaults that work. Plain Python: the API builds its OpenAPI schema
from the dataclasses (training/api/recipe_schemas.py), services check a request's ``params`` with
``params_check``, and the runner (a subprocess without Django) reads the checked values back.

Each parameter is a dataclass field made with ``param()``, whose metadata holds its range and help text;
``params_check`` reads that metadata, so a range is written once.
"""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

from django.utils.translation import gettext as _

from tessera.errors import ApplicationError

P = TypeVar("P")


def param(
    default: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    help: str = "",
) -> Any:
    metadata = {"minimum": minimum, "maximum": maximum, "choices": choices, "help": help}
    if dataclasses.is_dataclass(default) or isinstance(default, list):
        return field(default_factory=lambda: default, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class LoraParams:
    """A LoRA adapter (peft) instead of training every weight; merged into the model when the run ends."""

    r: int = param(16, minimum=1, maximum=256, help="The adapter's rank.")
    alpha: int = param(32, minimum=1, maximum=1024, help="Scaling: the update is multiplied by alpha / r.")
    dropout: float = param(0.05, minimum=0.0, maximum=0.9, help="Dropout on the adapter's input.")


@dataclass(frozen=True)
class TrainingParams:
    """What every recipe takes. The defaults train a small model on a CPU in minutes, a large one on a GPU."""

    learning_rate: float = param(5e-5, minimum=1e-8, maximum=1.0, help="Peak learning rate (AdamW).")
    epochs: float = param(3.0, minimum=0.01, maximum=100.0, help="Passes over the training split.")
    max_steps: int | None = param(
        None, minimum=1, maximum=10_000_000, help="Stop after this many optimizer steps (overrides epochs)."
    )
    batch_size: int = param(8, minimum=1, maximum=1024, help="Examples per device per step.")
    gradient_accumulation_steps: int = param(1, minimum=1, maximum=1024, help="Steps summed per update.")
    max_length: int = param(256, minimum=8, maximum=131_072, help="Tokens per example; longer are cut.")
    warmup_ratio: float = param(0.0, minimum=0.0, maximum=0.5, help="Share of steps warming up.")
    weight_decay: float = param(0.0, minimum=0.0, maximum=1.0, help="AdamW weight decay.")
    seed: int = param(42, minimum=0, maximum=2**31 - 1, help="Seeds data order and initialisation.")
    logging_steps: int = param(10, minimum=1, maximum=100_000, help="Steps between metric lines.")
    save_steps: int = param(500, minimum=1, maximum=10_000_000, help="Steps between checkpoints.")
    save_total_limit: int = param(2, minimum=1, maximum=100, help="Checkpoints kept; older ones are removed.")


@dataclass(frozen=True)
class GenerationParams:
    """What a generative recipe answers after training: the test prompts, for the evaluation project."""

    max_new_tokens: int = param(128, minimum=1, maximum=8192, help="Tokens per generated test answer.")
    generation_prompts: int = param(
        64, minimum=0, maximum=10_000, help="Test prompts answered after training (0: none)."
    )


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    dataset_format: str  # the name in exports.formats.datasets.DATASET_FORMATS the recipe reads
    model_kinds: tuple[str, ...]  # the base-model kinds it trains; empty: no base model (from scratch)
    params_class: type
    pretraining: bool = False  # the scaling-law note applies to the run as it is (not a fine-tune)
    description: str = ""

    @property
    def needs_base_model(self) -> bool:
        return bool(self.model_kinds)

    def check_params(self, raw: object) -> Any:
        checked: Any = params_check(self.params_class, raw, path="params")
        self.check_together(checked)
        return checked

    def check_together(self, params: Any) -> None:
        """Rules that join several parameters; a recipe with some overrides this."""


def _invalid(path: str, message: str) -> ApplicationError:
    return ApplicationError(message, field=path)


def optional_type(annotation: Any) -> tuple[Any, bool]:
    """(the inner type, whether None is allowed) of ``X | None``."""
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return inner[0], len(inner) < len(typing.get_args(annotation))
    return annotation, False


def params_check(params_class: type[P], raw: object, *, path: str) -> P:
    """An instance of ``params_class`` from a JSON object: missing keys take their defaults, unknown
    keys, wrong types and values out of range are a 400 naming ``<path>.<name>``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _invalid(path, _("Must be a JSON object."))
    fields = {f.name: f for f in dataclasses.fields(params_class)}  # type: ignore[arg-type]
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise _invalid(
            f"{path}.{unknown[0]}",
            _("Unknown parameter; use one of %(names)s.") % {"names": ", ".join(fields)},
        )
    hints = typing.get_type_hints(params_class)
    values = {}
    for name, spec in fields.items():
        if name not in raw:
            continue
        values[name] = _value(hints[name], spec.metadata, raw[name], f"{path}.{name}")
    return params_class(**values)


def _value(annotation: Any, metadata: Any, value: object, path: str) -> Any:
    kind, nullable = optional_type(annotation)
    if value is None:
        if nullable:
            return None
        raise _invalid(path, _("Must not be null."))
    if dataclasses.is_dataclass(kind):
        return params_check(kind, value, path=path)  # type: ignore[arg-type]
    if kind is bool:
        if not isinstance(value, bool):
            raise _invalid(path, _("Must be true or false."))
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid(path, _("Must be an integer."))
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _invalid(path, _("Must be a number."))
        value = float(value)
    elif kind is str:
        if not isinstance(value, str):
            raise _invalid(path, _("Must be a string."))
        if metadata.get("choices") and value not in metadata["choices"]:
            raise _invalid(path, _("Use one of %(names)s.") % {"names": ", ".join(metadata["choices"])})
        return value
    minimum, maximum = metadata.get("minimum"), metadata.get("maximum")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _invalid(
            path,
            _("Must be between %(minimum)s and %(maximum)s.") % {"minimum": minimum, "maximum": maximum},
        )
    return value


def params_dict(params: Any) -> dict[str, Any]:
    """The checked parameters as JSON, for a run's spec and the job row."""
    return dataclasses.asdict(params)
