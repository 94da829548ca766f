"""The command line that starts one run: the runner in one process for one GPU (or the CPU), and torchrun
with a process per GPU when a job asks for several (each process trains a data-parallel replica; the
Trainer reads torchrun's environment, so the runner itself does not change).

``--standalone`` makes torchrun's rendezvous local to this machine: a job runs on one machine's GPUs.
"""

from pathlib import Path

from training.runner import runner_command, runner_env

# The runner touches no database, broker or mail server and signs nothing: the worker's settings and
# secrets stay out of its environment (it runs model code on user data).
WITHHELD_PREFIXES = ("TESSERA_", "CELERY_", "DATABASE_", "REDIS_", "DJANGO_")
WITHHELD_MARKS = ("SECRET", "PASSWORD", "TOKEN", "CREDENTIAL")


def launch_command(spec_path: str | Path, *, gpus: int) -> list[str]:
    """The subprocess's argv for a run on ``gpus`` devices (1: a plain runner process; more: torchrun)."""
    if gpus < 1:
        raise ValueError(f"a run needs at least one device, not {gpus}")
    return runner_command(spec_path, processes=gpus)


def launch_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The runner's environment: the worker's, offline, without Tessera's settings and secrets."""
    return {
        key: value
        for key, value in runner_env(base).items()
        if not key.startswith(WITHHELD_PREFIXES) and not set(key.upper().split("_")) & set(WITHHELD_MARKS)
    }
