"""What a run writes while it runs: events and metrics as JSON lines, flushed at once (the job follows the
files while the run goes on, and a killed run leaves every line written before the kill)."""

import json
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class JsonLines:
    def __init__(self, file: Path):
        self.file = file
        file.parent.mkdir(parents=True, exist_ok=True)

    def write(self, row: dict[str, Any]) -> None:
        with self.file.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, default=str) + "\n")


class EventLog(JsonLines):
    def event(self, kind: str, **details: Any) -> None:
        self.write({"time": time.time(), "event": kind, **details})


# The Trainer's running figures, left out: a line's throughput is measured between two logs instead.
DROPPED = {
    "total_flos",
    "num_input_tokens_seen",
    "train_tokens_per_second",
    "train_samples_per_second",
    "train_steps_per_second",
}


class ReportingCallback(TrainerCallback):
    """Metric lines on every log, events at checkpoints and epochs. A line with ``eval_loss`` is the
    validation split's, at a checkpoint; the closing evaluation of the test split logs ``test_*`` keys.

    Throughput is measured here, between two logs (the Trainer's own figures average over the whole run,
    start-up included): samples/s from the steps done and the global batch, tokens/s from the Trainer's
    count of input tokens. With the device's peak FLOPS known (a GPU), MFU is 6 · parameters · tokens/s
    over the peak times the devices.
    """

    def __init__(self, *, metrics: JsonLines, events: EventLog, peak_flops: float | None):
        self.metrics = metrics
        self.events = events
        self.peak_flops = peak_flops
        self.parameters = 0
        self._last: tuple[float, int, int] | None = None  # (time, step, tokens seen)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        model = kwargs.get("model")
        if model is not None:
            self.parameters = sum(p.numel() for p in model.parameters())
        self._last = (time.perf_counter(), state.global_step, state.num_input_tokens_seen)
        self.events.event(
            "train_begin", step=state.global_step, max_steps=state.max_steps, parameters=self.parameters
        )

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not logs or not state.is_world_process_zero:
            return
        row: dict[str, Any] = {"time": time.time(), "step": state.global_step, "epoch": state.epoch}
        if state.num_input_tokens_seen:
            # Cumulative, so that a reader can measure throughput over any span of the run, not only one interval.
            row["input_tokens_seen"] = state.num_input_tokens_seen
        for key, value in logs.items():
            if key not in DROPPED:
                row[key] = value
        now = time.perf_counter()
        if self._last is not None and state.global_step > self._last[1] and "loss" in logs:
            seconds = now - self._last[0]
            steps = state.global_step - self._last[1]
            global_batch = (
                args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
            )
            row["samples_per_second"] = steps * global_batch / seconds
            tokens = state.num_input_tokens_seen - self._last[2]
            if tokens > 0:
                row["tokens_per_second"] = tokens / seconds
                if self.peak_flops:
                    row["mfu"] = (
                        6 * self.parameters * row["tokens_per_second"] / (self.peak_flops * args.world_size)
                    )
            self._last = (now, state.global_step, state.num_input_tokens_seen)
        memory = _device_memory()
        if memory is not None:
            row["device_memory_bytes"] = memory
        self.metrics.write(row)

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.events.event(
            "checkpoint", step=state.global_step, path=f"{args.output_dir}/checkpoint-{state.global_step}"
        )

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.events.event("epoch_end", step=state.global_step, epoch=state.epoch)


def _device_memory() -> int | None:
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    return None
