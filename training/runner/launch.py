"""The command line that starts one run: the runner in one process for one GPU (or the CPU), and torchrun
with a process per GPU when a job asks for several (each process trains a data-parallel replica; the
Trainer reads torchrun's environment, so the runner itself does not change).

``--standalone`` makes torchrun's rendezvous local to this machine: a job runs on one machine's GPUs.
"""

import sys
from pathlib import Path

from training.runner import runner_command


def torchrun_prefix(gpus: int) -> list[str]:
    # torchrun is the console script of torch.distributed.run; ``python -m`` finds it in the same
    # environment as the worker, whether or not its bin folder is on PATH.
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(gpus)]


def launch_command(spec_path: str | Path, *, gpus: int) -> list[str]:
    """The subprocess's argv for a run on ``gpus`` devices (1: a plain runner process)."""
    if gpus < 1:
        raise ValueError(f"a run needs at least one device, not {gpus}")
    if gpus == 1:
        return runner_command(spec_path)
    return [*torchrun_prefix(gpus), "-m", "training.runner", "--spec", str(spec_path)]
