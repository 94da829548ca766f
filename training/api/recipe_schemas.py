"""Schema-only serializers built from the recipes' parameter dataclasses, so the OpenAPI schema documents
every recipe's parameters, ranges and defaults as training/recipes/ declares them (written once there)."""

import dataclasses
import typing
from functools import cache

from rest_framework import serializers

from training.recipes import RECIPES
from training.recipes.base import optional_type


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _field(annotation: object, spec: dataclasses.Field) -> serializers.Field:
    kind, nullable = optional_type(annotation)
    meta = spec.metadata
    common: dict = {"required": False, "allow_null": nullable, "help_text": meta.get("help") or None}
    if dataclasses.is_dataclass(kind):
        return params_serializer(kind)(**common)  # type: ignore[arg-type]
    default = spec.default if spec.default is not dataclasses.MISSING else None
    if default is not None:
        common["default"] = default
    bounds = {
        key: meta[name]
        for key, name in (("min_value", "minimum"), ("max_value", "maximum"))
        if meta.get(name) is not None
    }
    if kind is bool:
        return serializers.BooleanField(**common)
    if kind is int:
        return serializers.IntegerField(**common, **bounds)
    if kind is float:
        return serializers.FloatField(**common, **bounds)
    if meta.get("choices"):
        return serializers.ChoiceField(choices=list(meta["choices"]), **common)
    return serializers.CharField(**common)


@cache
def params_serializer(params_class: type) -> type[serializers.Serializer]:
    hints = typing.get_type_hints(params_class)
    attributes = {spec.name: _field(hints[spec.name], spec) for spec in dataclasses.fields(params_class)}
    name = params_class.__name__.removesuffix("Params") + "ParamsIn"
    return type(name, (serializers.Serializer,), attributes)


class ResourcesIn(serializers.Serializer):
    gpus = serializers.IntegerField(required=False, default=1, min_value=1, help_text="Devices the run uses.")
    gpu_type = serializers.ChoiceField(
        required=False,
        default="H100",
        choices=["H100", "H200", "A100", "L4", "CPU"],
        help_text="For the estimate.",
    )
    utilisation = serializers.FloatField(
        required=False,
        default=0.4,
        min_value=0.01,
        max_value=1.0,
        help_text="Share of the peak FLOPS reached.",
    )
    strategy = serializers.ChoiceField(
        required=False,
        default="ddp",
        choices=["ddp", "fsdp"],
        help_text="Several GPUs: ddp, a whole model on each; fsdp, weights, gradients and optimizer states "
        "sharded over them (for a model too large for one GPU; 2 GPUs or more).",
    )


class EstimateInBase(serializers.Serializer):
    dataset = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="A dataset version; its counts will feed the estimate once versions land. Give tokens today.",
    )
    base_model = serializers.IntegerField(required=False, allow_null=True, help_text="Null for from-scratch.")
    resources = ResourcesIn(required=False)
    tokens = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Tokens per epoch."
    )
    rows = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    mean_tokens_per_row = serializers.FloatField(required=False, allow_null=True, min_value=1)


@cache
def estimate_bodies() -> dict[str, serializers.Serializer]:
    """One request shape per recipe, its ``params`` documented by the recipe's parameter dataclass."""
    bodies: dict[str, serializers.Serializer] = {}
    for name, recipe in RECIPES.items():
        body = type(
            f"{_camel(name)}EstimateIn",
            (EstimateInBase,),
            {
                "recipe": serializers.ChoiceField(choices=[name]),
                "params": params_serializer(recipe.params_class)(
                    required=False, help_text=recipe.description
                ),
            },
        )
        bodies[name] = body()
    return bodies
