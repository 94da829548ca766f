"""A run's spec (the JSON file the runner is given) and the layout of its output folder."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunSpec:
    recipe: str
    output_dir: Path
    train: Path
    validation: Path | None = None
    test: Path | None = None
    base_model: Path | None = None  # the model folder; None for a model trained from scratch
    params: dict[str, Any] = field(default_factory=dict)  # the recipe's parameters, checked at launch
    peak_flops: float | None = None  # per device, for MFU; None when unknown (the CPU)
    # torch.compile the model: faster steps on a GPU after a compile of a minute or so; off by default, as a
    # short run or a CPU does not earn the compile back.
    torch_compile: bool = False
    # Shard the model's weights, gradients and optimizer states over the run's GPUs (FSDP) instead of a
    # whole replica on each (trainer_setup.sharding_arguments).
    fsdp: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any], *, base: Path | None = None) -> "RunSpec":
        """A relative path is read from ``base`` (the spec file's folder)."""
        data = raw.get("data", {})

        def path(value: object) -> Path | None:
            if value in (None, ""):
                return None
            found = Path(str(value))
            return found if base is None or found.is_absolute() else base / found

        train = path(data.get("train"))
        if train is None:
            raise ValueError("the spec names no training split (data.train)")
        return cls(
            recipe=str(raw["recipe"]),
            output_dir=path(raw["output_dir"]) or Path("."),
            train=train,
            validation=path(data.get("validation")),
            test=path(data.get("test")),
            base_model=path(raw.get("base_model")),
            params=dict(raw.get("params") or {}),
            peak_flops=raw.get("peak_flops"),
            torch_compile=bool(raw.get("torch_compile", False)),
            fsdp=bool(raw.get("fsdp", False)),
        )

    @classmethod
    def load(cls, file: Path) -> "RunSpec":
        return cls.from_dict(json.loads(file.read_text(encoding="utf-8")), base=file.resolve().parent)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "output_dir": str(self.output_dir),
            "data": {
                "train": str(self.train),
                "validation": None if self.validation is None else str(self.validation),
                "test": None if self.test is None else str(self.test),
            },
            "base_model": None if self.base_model is None else str(self.base_model),
            "params": self.params,
            "peak_flops": self.peak_flops,
            "torch_compile": self.torch_compile,
            "fsdp": self.fsdp,
        }

    @property
    def base_model_folder(self) -> Path:
        """The base model's folder, for the recipes that start from one."""
        if self.base_model is None:
            raise ValueError(f"the {self.recipe} recipe needs a base model")
        return self.base_model

    # The output folder's layout, named once.
    @property
    def metrics_file(self) -> Path:
        return self.output_dir / "metrics.jsonl"

    @property
    def events_file(self) -> Path:
        return self.output_dir / "events.jsonl"

    @property
    def checkpoints_dir(self) -> Path:
        return self.output_dir / "checkpoints"

    @property
    def model_dir(self) -> Path:
        return self.output_dir / "model"

    @property
    def eval_file(self) -> Path:
        return self.output_dir / "eval.json"


def read_jsonl(file: Path) -> list[dict[str, Any]]:
    rows = []
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError(f"{file.name} line {number} is not a JSON object")
                rows.append(row)
    return rows


def validation_rows(spec: RunSpec) -> list[dict[str, Any]] | None:
    return None if spec.validation is None else read_jsonl(spec.validation)


def require_columns(rows: list[dict[str, Any]], columns: tuple[str, ...], *, split: str) -> None:
    """The dataset shape the recipe reads; a row without one of its columns fails the run before training."""
    for number, row in enumerate(rows, 1):
        missing = [column for column in columns if column not in row]
        if missing:
            raise ValueError(
                f"{split} row {number} has no {', '.join(missing)} (the recipe reads {', '.join(columns)})"
            )
