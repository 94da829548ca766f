"""``python -m training.runner --spec spec.json``: one run; exit 0 when it finished, 1 when it failed (the
reason is the last line of events.jsonl)."""

import argparse
import importlib
import json
import os
import sys
import traceback
from pathlib import Path

from training.runner import OFFLINE_ENV, process_rank


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.runner", description=__doc__)
    parser.add_argument("--spec", required=True, type=Path, help="The run's spec (JSON).")
    args = parser.parse_args(argv)
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)

    # The recipes' parameter checks translate their messages with Django's gettext; the runner has no
    # project settings (it touches no database), so Django is told to translate nothing.
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False)

    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the run's log is a file, not a terminal

    from training.recipes import RECIPES
    from training.runner.reporting import EventLog
    from training.runner.spec import RunSpec

    spec = RunSpec.load(args.spec)
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    rank = process_rank()
    # Under torchrun the other ranks keep their own events (a failure on one of them is still on disk).
    events = EventLog(spec.events_file if rank == 0 else spec.output_dir / f"events-rank{rank}.jsonl")
    events.event("started", recipe=spec.recipe, pid=os.getpid())
    try:
        from training.runner.trainer_setup import on_gpu

        if spec.fsdp and not on_gpu():
            events.event(
                "sharding_unavailable",
                strategy="fsdp",
                reason="FSDP shards over GPUs only; without one the run is data-parallel.",
            )
        if spec.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {spec.recipe!r}")
        params = RECIPES[spec.recipe].check_params(spec.params)
        module = importlib.import_module(f"training.runner.{spec.recipe}")
        split, metrics = module.run(spec, params, events)
        evaluation = {"recipe": spec.recipe, "split": split, "metrics": metrics}
        if rank == 0:
            spec.eval_file.write_text(json.dumps(evaluation, indent=2), encoding="utf-8")
        events.event(
            "evaluated",
            split=split,
            metrics={k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
        )
    # Every failure, out-of-memory and disk-full included, is reported in the events, then the run exits 1.
    except Exception as error:  # noqa: BLE001
        events.event("failed", error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
        print(traceback.format_exc(), file=sys.stderr)
        return 1
    events.event("finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
