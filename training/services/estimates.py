"""The estimate of a training run from a launch body: the recipe, base model and parameters checked as a
launch will check them, then training/estimate.py's arithmetic.

Tokens come from the body (``tokens``, or ``rows`` with ``mean_tokens_per_row``) or, when the body names
a ``dataset`` version and gives neither, from the version: its train split's rows, tokenized with the
base model's tokenizer (training/services/dataset_tokens.py). A named version is checked as the launch
checks it (training/services/dataset_inputs.py) even when the body gives its tokens.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from exports.models import DatasetVersion
from tessera.errors import ApplicationError
from tessera.models import Membership
from training import selectors
from training.estimate import (
    DEFAULT_UTILISATION,
    DEVICES,
    DatasetCounts,
    Estimate,
    estimate,
    llama_parameters,
)
from training.estimate import model_shape as shape_of
from training.models import BaseModel, ModelKind
from training.recipes import recipe_get
from training.recipes.base import Recipe, params_dict
from training.recipes.pretraining_from_scratch import model_config as scratch_config
from training.services.dataset_inputs import dataset_version_for_recipe
from training.services.dataset_tokens import DatasetTokens, dataset_counts

MAX_GPUS = 1024


# How a run on several GPUs splits its work: "ddp" gives every GPU the whole model (data-parallel
# replicas); "fsdp" shards weights, gradients and optimizer states over them (PyTorch FSDP2 through the
# Trainer), for a model whose training states do not fit on one GPU.
STRATEGIES = ("ddp", "fsdp")


@dataclass(frozen=True)
class Resources:
    gpus: int
    gpu_type: str
    utilisation: float
    strategy: str = "ddp"


@dataclass(frozen=True)
class LaunchChecked:
    """A launch body, checked: what a job row will hold, and what the estimate reads."""

    recipe: Recipe
    base_model: BaseModel | None
    params: Any
    resources: Resources

    def recipe_params_dict(self) -> dict[str, Any]:
        return params_dict(self.params)


def _int(value: object, *, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ApplicationError(
            _("Must be an integer between %(minimum)s and %(maximum)s.")
            % {"minimum": minimum, "maximum": maximum},
            field=field,
        )
    return value


def resources_check(raw: object) -> Resources:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApplicationError(_("Must be a JSON object."), field="resources")
    unknown = sorted(set(raw) - {"gpus", "gpu_type", "utilisation", "strategy"})
    if unknown:
        raise ApplicationError(
            _("Unknown key; use gpus, gpu_type, utilisation or strategy."), field=f"resources.{unknown[0]}"
        )
    gpus = _int(raw.get("gpus", 1), field="resources.gpus", minimum=1, maximum=MAX_GPUS)
    gpu_type = raw.get("gpu_type", "H100")
    if gpu_type not in DEVICES:
        raise ApplicationError(
            _("Use one of %(names)s.") % {"names": ", ".join(DEVICES)}, field="resources.gpu_type"
        )
    utilisation = raw.get("utilisation", DEFAULT_UTILISATION)
    if (
        isinstance(utilisation, bool)
        or not isinstance(utilisation, int | float)
        or not 0.01 <= utilisation <= 1
    ):
        raise ApplicationError(_("Must be between 0.01 and 1."), field="resources.utilisation")
    strategy = raw.get("strategy", "ddp")
    if strategy not in STRATEGIES:
        raise ApplicationError(
            _("Use one of %(names)s.") % {"names": ", ".join(STRATEGIES)}, field="resources.strategy"
        )
    if strategy == "fsdp" and gpus < 2:
        raise ApplicationError(
            _("FSDP shards the model over several GPUs: ask for 2 or more, or use ddp."),
            field="resources.strategy",
        )
    return Resources(
        gpus=gpus, gpu_type=str(gpu_type), utilisation=float(utilisation), strategy=str(strategy)
    )


def launch_check(*, membership: Membership, body: dict[str, Any]) -> LaunchChecked:
    """Recipe, base model (the organization's, of a kind the recipe trains), parameters and resources."""
    recipe = recipe_get(body.get("recipe"))
    base_model = None
    if recipe.needs_base_model:
        if body.get("base_model") is None:
            raise ApplicationError(_("This recipe needs a base model."), field="base_model", code="required")
        base_model = selectors.base_model_get(
            membership=membership, base_model_id=body["base_model"], field="base_model"
        )
        if base_model.kind not in recipe.model_kinds:
            raise ApplicationError(
                _("%(recipe)s trains %(kinds)s models; %(name)s is %(kind)s.")
                % {
                    "recipe": recipe.name,
                    "kinds": " or ".join(recipe.model_kinds),
                    "name": base_model.name,
                    "kind": base_model.kind,
                },
                field="base_model",
            )
    elif body.get("base_model") is not None:
        raise ApplicationError(
            _("This recipe trains a model from scratch: leave base_model null."), field="base_model"
        )
    params = recipe.check_params(body.get("params"))
    if (
        getattr(params, "lora", None) is not None
        and base_model is not None
        and base_model.kind != ModelKind.CAUSAL_LM
    ):
        raise ApplicationError(_("LoRA is offered for decoder models only."), field="params.lora")
    return LaunchChecked(
        recipe=recipe, base_model=base_model, params=params, resources=resources_check(body.get("resources"))
    )


def _mean(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1 <= value <= 10**7:
        raise ApplicationError(_("Must be a number between 1 and 10000000."), field="mean_tokens_per_row")
    return float(value)


def counts_check(body: dict[str, Any]) -> DatasetCounts | None:
    """The counts the body gives, or None when it gives neither tokens nor rows with their mean."""
    tokens, rows, mean = body.get("tokens"), body.get("rows"), body.get("mean_tokens_per_row")
    if tokens is None and (rows is None or mean is None):
        return None
    limit = 10**15
    return DatasetCounts(
        tokens=None if tokens is None else _int(tokens, field="tokens", minimum=1, maximum=limit),
        rows=None if rows is None else _int(rows, field="rows", minimum=1, maximum=limit),
        mean_tokens_per_row=None if mean is None else _mean(mean),
    )


@dataclass(frozen=True)
class EstimateResult:
    launch: LaunchChecked
    estimate: Estimate
    dataset_tokens: DatasetTokens | None  # how a dataset version's tokens were counted, when they were


def training_estimate(*, membership: Membership, body: dict[str, Any]) -> EstimateResult:
    launch = launch_check(membership=membership, body=body)
    counts = counts_check(body)
    counted = None
    if body.get("dataset") is not None:
        # The version is checked even when the body's own counts win: an estimate for a launch that
        # would be refused is no estimate.
        version, files = dataset_version_for_recipe(membership, body["dataset"], launch.recipe)
        if counts is None:
            counts, counted = version_counts(launch, version, files)
    if counts is None:
        raise ApplicationError(
            _("Give a dataset version, tokens, or rows and mean_tokens_per_row."),
            field="tokens",
            code="required",
        )
    return EstimateResult(launch=launch, estimate=estimate_run(launch, counts), dataset_tokens=counted)


def version_counts(
    launch: LaunchChecked, version: DatasetVersion, files: dict[str, Path]
) -> tuple[DatasetCounts, DatasetTokens]:
    """The train split's rows and tokens, counted with the base model's tokenizer as the run will cut them."""
    return dataset_counts(
        dataset_id=version.pk,
        train_rows=int(version.counts.get("splits", {}).get("train", 0)),
        train_file=files["train"],
        recipe=launch.recipe,
        base_model=launch.base_model,
        max_length=launch.params.max_length,
    )


def estimate_run(launch: LaunchChecked, counts: DatasetCounts) -> Estimate:
    """The arithmetic for a checked launch and its dataset's counts (a launch stores it on the job)."""
    params = launch.params
    lora = getattr(params, "lora", None)
    if launch.base_model is None:
        config = scratch_config(params)
        parameters = llama_parameters(config)
    else:
        config = launch.base_model.config
        parameters = launch.base_model.parameters
    shape = shape_of(config, parameters=parameters, lora_r=None if lora is None else lora.r)
    return estimate(
        shape=shape,
        counts=counts,
        epochs=params.epochs,
        max_steps=params.max_steps,
        batch_size=params.batch_size,
        gradient_accumulation_steps=params.gradient_accumulation_steps,
        max_length=params.max_length,
        device=launch.resources.gpu_type,
        devices=launch.resources.gpus,
        utilisation=launch.resources.utilisation,
        pretraining=launch.recipe.pretraining,
        sharded=launch.resources.strategy == "fsdp",
    )
