"""The multi-GPU launch path on the CPU: the runner under torchrun with two data-parallel processes (gloo
instead of NCCL, the same Trainer code path). The global batch spans both, so an epoch takes half the
steps; rank 0 alone writes the metrics, events, eval.json and the model, the other rank its own events.
The spec asks for FSDP, which accelerate applies on GPUs only: here the run says so and stays
data-parallel (the keywords it would give the Trainer on GPUs: tests/training/test_runner_parts.py)."""

import json
import subprocess

from tests.training.runner_support import CHAT_TEXTS, events_of, json_lines, tiny_llama, write_jsonl
from training.runner import runner_command, runner_env


def chat_rows() -> list[dict]:
    rows = []
    for text in CHAT_TEXTS:
        question, answer = text.split("? ")
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": question + "?"},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return rows


def test_sft_under_torchrun_with_two_processes(tmp_path):
    model = tiny_llama(tmp_path / "llama")
    train = write_jsonl(tmp_path / "train.jsonl", chat_rows() * 2)  # 12 rows
    spec = {
        "recipe": "sft",
        "output_dir": str(tmp_path / "run"),
        "data": {"train": str(train), "test": str(write_jsonl(tmp_path / "test.jsonl", chat_rows()))},
        "base_model": str(model),
        # 12 rows, 2 a process, 2 processes: 3 steps an epoch (6 in one process).
        "params": {"epochs": 1, "batch_size": 2, "max_length": 64, "packing": False, "logging_steps": 1},
        # Asked to shard: accelerate shards over GPUs only, so on the CPU the run says so and is data-parallel.
        "fsdp": True,
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = runner_env()
    env["OMP_NUM_THREADS"] = "1"
    command = runner_command(spec_file, processes=2)
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    run = tmp_path / "run"
    begin = next(row for row in json_lines(run / "events.jsonl") if row["event"] == "train_begin")
    assert begin["max_steps"] == 3
    assert events_of(run).count("finished") == 1
    assert events_of(run).count("sharding_unavailable") == 1
    assert "finished" in [row["event"] for row in json_lines(run / "events-rank1.jsonl")]
    steps = [row["step"] for row in json_lines(run / "metrics.jsonl") if "loss" in row]
    assert steps == [1, 2, 3]  # one line a step: rank 1 wrote none
    assert (run / "model" / "model.safetensors").is_file()
    assert json.loads((run / "eval.json").read_text())["metrics"]["perplexity"] > 1.0
    # Answers to the test prompts, written by rank 0 alone (both ranks writing and renaming the same
    # file failed a run now and then), and logged once.
    assert len(json_lines(run / "generations.jsonl")) == len(chat_rows())
    assert events_of(run).count("generated") == 1
    assert "generated" not in [row["event"] for row in json_lines(run / "events-rank1.jsonl")]
