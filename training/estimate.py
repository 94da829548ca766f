"""What a training run will cost, before it runs: parameters, tokens, FLOPs, GPU-hours and memory.

Pure arithmetic, no torch: a registered model's parameters were counted from its safetensors headers
when it was registered (training/model_folders.py), the rest of its shape is read from config.json, and a
model built from scratch is counted from the config the run will build (``llama_parameters``).

Figures, with their sources:
- training FLOPs ≈ 6 · N · D (N parameters, D tokens seen; Kaplan et al. 2020): 2 for the forward pass,
  4 for the backward. A LoRA run still runs the whole forward and backward (the input gradients of every
  layer), so the same figure is used: it over-counts by the frozen weights' gradients, about a third.
- GPU time = FLOPs / (peak · utilisation). The peaks are dense bf16 from the vendors' sheets; the default
  utilisation, 40 %, is what a well-tuned fine-tune reaches, not the ceiling.
- memory per device, data-parallel (every device holds the whole model): mixed-precision AdamW keeps
  16 bytes per trained parameter (bf16 weights and gradients, fp32 master weights and two moments; the
  ZeRO paper), a frozen parameter 2 bytes; activations s·b·h·(34 + 5·a·s/h) bytes per layer without
  recomputation (Korthikanti et al. 2022). Fully sharded (FSDP, ZeRO-3) over d devices, each holds 1/d of
  the weights, gradients and optimizer states, plus the whole weights of the layer it computes and of the
  next one, gathered ahead (two layers' bf16 weights); its activations are its own batch's, as before.
- Chinchilla (Hoffmann et al. 2022): about 20 training tokens per parameter is compute-optimal.
"""

from dataclasses import asdict, dataclass
from typing import Any

from django.utils.translation import gettext as _

CHINCHILLA_TOKENS_PER_PARAMETER = 20.0
CHINCHILLA_FAR_FACTOR = 2.0  # a ratio outside [20 / 2, 20 · 2] is "far" from compute-optimal
DEFAULT_UTILISATION = 0.4
LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "query", "key", "value", "c_attn", "c_proj")


@dataclass(frozen=True)
class Device:
    name: str
    peak_flops: float  # dense bf16 per device (the CPU: a stated fp32 rate)
    memory_bytes: int | None


GIB = 1024**3
DEVICES: dict[str, Device] = {
    "H100": Device("H100", 989e12, 80 * GIB),
    "H200": Device("H200", 989e12, 141 * GIB),
    "A100": Device("A100", 312e12, 80 * GIB),
    "L4": Device("L4", 121e12, 24 * GIB),
    # A server CPU's fp32 rate with AVX-512 across its cores, roughly; training on one is for tiny models.
    "CPU": Device("CPU", 1e12, None),
}


@dataclass(frozen=True)
class ModelShape:
    parameters: int
    trainable_parameters: int  # equal to parameters unless a LoRA adapter is trained
    hidden_size: int
    layers: int
    heads: int


@dataclass(frozen=True)
class DatasetCounts:
    """What a dataset tells the estimate: its training rows and their tokens, given by the caller or
    counted from a dataset version's train split (training/services/dataset_tokens.py)."""

    rows: int | None = None
    tokens: int | None = None
    mean_tokens_per_row: float | None = None

    def tokens_per_epoch(self, *, max_length: int) -> int:
        """Tokens the run sees per epoch: rows are cut at max_length, so a mean above it counts as it."""
        if self.rows is not None and self.mean_tokens_per_row is not None:
            return round(self.rows * min(self.mean_tokens_per_row, max_length))
        if self.tokens is not None:
            return self.tokens if self.rows is None else min(self.tokens, self.rows * max_length)
        return 0


@dataclass(frozen=True)
class Memory:
    weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    total_bytes: int  # per device
    device_bytes: int | None
    fits: bool | None
    sharded_over: int = 1  # devices the weights, gradients and optimizer states are split over (FSDP)


@dataclass(frozen=True)
class Estimate:
    parameters: int
    trainable_parameters: int
    tokens_per_epoch: int
    epochs: float
    training_tokens: int
    flops: float
    device: str
    devices: int
    utilisation: float
    peak_flops_per_device: float
    gpu_hours: float  # device-hours, all devices together
    wall_hours: float
    memory: Memory
    tokens_per_parameter: float
    scaling_note: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def estimate(
    *,
    shape: ModelShape,
    counts: DatasetCounts,
    epochs: float,
    max_steps: int | None,
    batch_size: int,
    gradient_accumulation_steps: int = 1,
    max_length: int,
    device: str,
    devices: int = 1,
    utilisation: float = DEFAULT_UTILISATION,
    pretraining: bool = False,
    sharded: bool = False,
) -> Estimate:
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}")
    spec = DEVICES[device]
    per_epoch = counts.tokens_per_epoch(max_length=max_length)
    training_tokens = round(per_epoch * epochs)
    if max_steps is not None:
        # A step sees at most batch · accumulation · devices sequences of max_length tokens.
        step_tokens = batch_size * gradient_accumulation_steps * devices * max_length
        training_tokens = (
            min(training_tokens, max_steps * step_tokens) if per_epoch else max_steps * step_tokens
        )
    flops = 6.0 * shape.parameters * training_tokens
    gpu_hours = flops / (spec.peak_flops * utilisation) / 3600
    memory = _memory(
        shape=shape, batch_size=batch_size, max_length=max_length, spec=spec, shards=devices if sharded else 1
    )
    ratio = training_tokens / shape.parameters if shape.parameters else 0.0
    return Estimate(
        parameters=shape.parameters,
        trainable_parameters=shape.trainable_parameters,
        tokens_per_epoch=per_epoch,
        epochs=epochs,
        training_tokens=training_tokens,
        flops=flops,
        device=spec.name,
        devices=devices,
        utilisation=utilisation,
        peak_flops_per_device=spec.peak_flops,
        gpu_hours=gpu_hours,
        wall_hours=gpu_hours / devices,
        memory=memory,
        tokens_per_parameter=ratio,
        scaling_note=scaling_note(ratio=ratio, parameters=shape.parameters, pretraining=pretraining),
    )


def _memory(*, shape: ModelShape, batch_size: int, max_length: int, spec: Device, shards: int = 1) -> Memory:
    """Per device; with ``shards`` > 1 (FSDP) the states are split and two layers' weights gathered."""
    weights = 2 * shape.parameters  # bf16, trained or frozen
    gradients = 2 * shape.trainable_parameters
    optimizer = 12 * shape.trainable_parameters  # fp32 master copy and AdamW's two moments
    if shards > 1:
        gathered = 2 * weights // max(shape.layers, 1)  # the layer computed and the next, whole
        weights = -(-weights // shards) + min(gathered, weights)
        gradients = -(-gradients // shards)
        optimizer = -(-optimizer // shards)
    s, b, h, a = max_length, batch_size, shape.hidden_size, max(shape.heads, 1)
    activations = round(s * b * h * (34 + 5 * a * s / h) * shape.layers) if h else 0
    total = weights + gradients + optimizer + activations
    return Memory(
        weights_bytes=weights,
        gradients_bytes=gradients,
        optimizer_bytes=optimizer,
        activations_bytes=activations,
        total_bytes=total,
        device_bytes=spec.memory_bytes,
        fits=None if spec.memory_bytes is None else total <= spec.memory_bytes,
        sharded_over=shards,
    )


def scaling_note(*, ratio: float, parameters: int, pretraining: bool) -> str | None:
    """A sentence when tokens per parameter is far from Chinchilla's ≈ 20, else None."""
    low = CHINCHILLA_TOKENS_PER_PARAMETER / CHINCHILLA_FAR_FACTOR
    high = CHINCHILLA_TOKENS_PER_PARAMETER * CHINCHILLA_FAR_FACTOR
    if low <= ratio <= high or not parameters:
        return None
    optimal = round(CHINCHILLA_TOKENS_PER_PARAMETER * parameters)
    if not pretraining:
        return _(
            "%(ratio).2g tokens per parameter, far from the ≈20 that is compute-optimal for pre-training "
            "(Chinchilla); a fine-tune starts from a trained model and needs far fewer, so this is expected."
        ) % {"ratio": ratio}
    if ratio < low:
        return _(
            "%(ratio).2g tokens per parameter: under-trained for its size. Compute-optimal (Chinchilla, ≈20 "
            "tokens per parameter) is about %(optimal)s tokens for this model, or a smaller model for this data."
        ) % {"ratio": ratio, "optimal": f"{optimal:,}"}
    return _(
        "%(ratio).2g tokens per parameter: more than compute-optimal (Chinchilla, ≈20). A larger model would "
        "reach a lower loss for the same compute; a small model trained long is cheaper to serve."
    ) % {"ratio": ratio}


def _get(config: dict[str, Any], *names: str, default: int = 0) -> int:
    for name in names:
        if isinstance(config.get(name), int):
            return int(config[name])
    return default


def model_shape(config: dict[str, Any], *, parameters: int, lora_r: int | None = None) -> ModelShape:
    """The shape the formulas need, read from config.json's keys (Llama-, BERT- and GPT-2-style names).

    With ``lora_r``, the trainable parameters are those of a rank-r adapter on the four attention
    projections of every layer (q, k, v, o; what the runner adapts): r · (in + out) each, so
    r · (6 · hidden + 2 · kv_width) per layer, kv_width being the keys' width under grouped-query attention.
    """
    hidden = _get(config, "hidden_size", "n_embd", "d_model", "dim")
    layers = _get(config, "num_hidden_layers", "n_layer", "num_layers", "n_layers")
    heads = _get(config, "num_attention_heads", "n_head", "num_heads", "n_heads", default=1)
    trainable = parameters
    if lora_r is not None:
        kv_heads = _get(config, "num_key_value_heads", default=heads)
        kv_width = hidden // heads * kv_heads if heads else hidden
        trainable = lora_r * (6 * hidden + 2 * kv_width) * layers
    return ModelShape(
        parameters=parameters, trainable_parameters=trainable, hidden_size=hidden, layers=layers, heads=heads
    )


def llama_parameters(config: dict[str, Any]) -> int:
    """Parameters of a Llama config without building it: embeddings (tied to the output layer unless the
    config says otherwise), per layer the q, k, v, o projections, the gated MLP's three matrices and two
    RMS norms, and the final norm."""
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv_width = hidden // heads * config.get("num_key_value_heads", heads)
    vocab = config["vocab_size"]
    per_layer = (
        2 * hidden * hidden + 2 * hidden * kv_width + 3 * hidden * config["intermediate_size"] + 2 * hidden
    )
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", False) else 2)
    return embeddings + config["num_hidden_layers"] * per_layer + hidden
