"""The training runner: one training run, in its own process (``python -m training.runner --spec spec.json``).

A run is a subprocess so that a crash, an out-of-memory kill or a hung CUDA call ends the run and not the
worker that launched it. It imports no Django model and reads no database: the spec names the recipe,
the base model's folder, the checked parameters and the JSONL files of each split; the run writes, under
the spec's output folder, everything a job needs to report it:

- ``metrics.jsonl``: one line per logging step (loss, learning rate, throughput, epoch, step, device memory),
- ``events.jsonl``: started, resumed, checkpoint, evaluated, finished or failed, one JSON object a line,
- ``checkpoints/checkpoint-<step>/``: the Trainer's checkpoints, the newest ``save_total_limit`` kept,
- ``model/``: the final model, as safetensors, with its tokenizer,
- ``eval.json``: the test split's evaluation.

Run again on the same output folder, it resumes from the newest complete checkpoint.
"""

import os
import sys
from pathlib import Path

# Nothing is downloaded, ever: a model or tokenizer not in its folder is an error, not a fetch.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def runner_command(spec_path: str | Path, *, processes: int = 1) -> list[str]:
    """The command line that runs one training run: one process, or ``processes`` data-parallel ones
    under torchrun on this host (one per GPU; docs/TRAINING.md)."""
    if processes > 1:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",  # what the torchrun script runs, found with this interpreter
            "--standalone",
            f"--nproc_per_node={processes}",
            "-m",
            "training.runner",
            "--spec",
            str(spec_path),
        ]
    return [sys.executable, "-m", "training.runner", "--spec", str(spec_path)]


def process_rank() -> int:
    """This process's rank under torchrun (0 when run alone). Only rank 0 writes the run's files: the
    others would write the same bytes to the same paths at once."""
    return int(os.environ.get("RANK", "0"))


def runner_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The subprocess's environment: the caller's, offline, with the repository on the import path."""
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH", "")]))
    return env
