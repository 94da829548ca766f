"""Training throughput (issue 12): SFT of a small Llama-style model through Tessera's runner against a plain
``transformers.Trainer`` script, same model, data, batch and sequence length.

1. Builds, in --workdir, a byte-level BPE tokenizer (training/runner/tokenizer.py, with its chat template)
   trained on synthetic conversations, and a Llama model from a config (default ~20M parameters: 512
   wide, 5 layers, 8 heads, 8,000 tokens), saved as safetensors: the base model folder both runs load.
2. Writes --rows synthetic chat rows ``{"messages": [user, assistant]}`` (sft_chat's shape) as
   train.jsonl, and a few more as test.jsonl.
3. Runs Tessera's runner as the worker does (``python -m training.runner --spec spec.json``, a subprocess)
   on the ``sft`` recipe with --max-steps steps of --batch-size rows of --max-length tokens, with the
   recipe's defaults: no packing, batches drawn from rows of similar lengths; --runner-packing packs
   (trl's best-fit-decreasing packing, padding-free).
4. Runs bench/training_plain_sft.py (a subprocess too): a bare Trainer over the same rows rendered with
   the same chat template, cut at --max-length, batches padded to their longest row; no packing unless
   --baseline-packing.

Both write metric lines with the input tokens seen so far (padding not counted). Throughput is read alike
for both: tokens between the first logged step and the last over the seconds between them (the first
step, which warms up, and the closing save are left out), plus the whole ``train()`` (Trainer's
``train_runtime``, the runner's final checkpoint included). MFU = 6 · parameters · tokens/s / --peak-flops
(per device; 989e12 for an H100 or H200 in dense bf16). On a CPU there is no vendor peak: give a stated
one or read MFU as null.

    .venv/bin/python bench/training_throughput.py                          # CPU, ~20M params, a few minutes
    .venv/bin/python bench/training_throughput.py --device cuda --peak-flops 989e12 \\
        --hidden-size 1536 --layers 16 --heads 12 --intermediate-size 4096 --vocab-size 32000 \\
        --max-length 2048 --batch-size 8 --max-steps 60 --compile   # a ~0.5B model on one GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SYLLABLES = "ka ri to mu se na lo pe vi du sha qi ze bo fa gu hi ye wo nu ti ra me so".split()


def words(rng: random.Random, count: int) -> str:
    """Pseudo-words of two or three syllables from a fixed alphabet: a vocabulary BPE can learn."""
    vocab = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(3000)]
    return " ".join(rng.choice(vocab) for _ in range(count))


def conversations(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        question = words(rng, rng.randint(10, 60)) + "?"
        answer = words(rng, rng.randint(30, 160)) + "."
        rows.append(
            {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}
        )
    return rows


def write_jsonl(file: Path, rows: list[dict[str, Any]]) -> None:
    file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def build_model(folder: Path, rows: list[dict[str, Any]], args: argparse.Namespace) -> int:
    """The base model folder; returns its parameter count."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from training.runner.tokenizer import train_bpe_tokenizer

    texts = [message["content"] for row in rows for message in row["messages"]]
    tokenizer = train_bpe_tokenizer(texts, vocab_size=args.vocab_size)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=max(args.max_length, 256),
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def child_env(args: argparse.Namespace) -> dict[str, str]:
    from training.runner import runner_env

    env = runner_env()
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def lines(file: Path) -> list[dict[str, Any]]:
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def throughput(rows: list[dict[str, Any]], *, parameters: int, peak_flops: float | None) -> dict[str, Any]:
    steps = [row for row in rows if "loss" in row and row.get("input_tokens_seen")]
    summary = next((row for row in reversed(rows) if "train_runtime" in row), {})
    result: dict[str, Any] = {"logged_steps": [row["step"] for row in steps]}
    if len(steps) >= 2:
        first, last = steps[0], steps[-1]
        tokens = last["input_tokens_seen"] - first["input_tokens_seen"]
        seconds = last["time"] - first["time"]
        result["steady_tokens_per_s"] = tokens / seconds
        result["steady_seconds_per_step"] = seconds / (last["step"] - first["step"])
        result["tokens_per_step"] = tokens / (last["step"] - first["step"])
    if steps and summary:
        result["train_runtime_s"] = summary["train_runtime"]
        result["train_tokens_per_s"] = steps[-1]["input_tokens_seen"] / summary["train_runtime"]
    rate = result.get("steady_tokens_per_s")
    result["mfu"] = None if not (rate and peak_flops) else 6 * parameters * rate / peak_flops
    result["final_loss"] = steps[-1]["loss"] if steps else None
    return result


def summary(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the repeats, and every repeat's steady tokens/s."""
    numbers = [key for key, value in found[0].items() if isinstance(value, int | float)]
    result: dict[str, Any] = {
        key: statistics.median(row[key] for row in found if row.get(key) is not None)
        for key in numbers
        if any(row.get(key) is not None for row in found)
    }
    result["steady_tokens_per_s_each"] = [row.get("steady_tokens_per_s") for row in found]
    result["logged_steps"] = found[0]["logged_steps"]
    result["final_loss"] = found[-1]["final_loss"]
    return result


def run_runner(work: Path, args: argparse.Namespace, env: dict[str, str]) -> tuple[float, Path]:
    from training.runner import runner_command

    output = work / "runner"
    shutil.rmtree(output, ignore_errors=True)  # a repeat starts afresh, not from the last one's checkpoint
    spec = {
        "recipe": "sft",
        "output_dir": str(output),
        "data": {"train": str(work / "train.jsonl"), "test": str(work / "test.jsonl")},
        "base_model": str(work / "model"),
        "params": {
            "max_steps": args.max_steps,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "packing": args.runner_packing,
            "logging_steps": args.logging_steps,
            "save_steps": args.max_steps,
            "save_total_limit": 1,
            "learning_rate": 2e-5,
        },
        "peak_flops": args.peak_flops,
        "torch_compile": args.compile,
    }
    spec_file = work / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run(runner_command(spec_file), env=env, capture_output=True, text=True, check=False)
    (work / "runner.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode:
        raise SystemExit(f"the runner failed; see {work / 'runner.log'}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, output / "metrics.jsonl"


def run_plain(work: Path, args: argparse.Namespace, env: dict[str, str]) -> tuple[float, Path]:
    metrics = work / "plain-metrics.jsonl"
    metrics.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(ROOT / "bench" / "training_plain_sft.py"),
        "--model", str(work / "model"),
        "--train", str(work / "train.jsonl"),
        "--metrics", str(metrics),
        "--output", str(work / "plain"),
        "--max-steps", str(args.max_steps),
        "--batch-size", str(args.batch_size),
        "--max-length", str(args.max_length),
        "--logging-steps", str(args.logging_steps),
        "--device", args.device,
    ]  # fmt: skip
    command += ["--packing"] * args.baseline_packing + ["--compile"] * args.compile
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    (work / "plain.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode:
        raise SystemExit(f"the plain baseline failed; see {work / 'plain.log'}:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started, metrics


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument(
        "--peak-flops", type=float, default=None, help="Per device, for MFU (989e12: H100/H200)."
    )
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--hidden-size", type=int, default=512)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--intermediate-size", type=int, default=1376)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-steps", type=int, default=16)
    parser.add_argument("--logging-steps", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="OMP_NUM_THREADS of both runs (0: torch's default)."
    )
    parser.add_argument(
        "--runner-packing",
        action="store_true",
        help="Turn the runner's packing on (the recipe's default is off: batches of similar lengths).",
    )
    parser.add_argument("--baseline-packing", action="store_true", help="Pack the plain baseline's rows too.")
    parser.add_argument(
        "--compile", action="store_true", help="torch.compile in both (a GPU; slow to start)."
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="Runner and baseline alternate this many times."
    )
    parser.add_argument(
        "--concurrent", action="store_true", help="Run both at once, one thread each (a machine others load)."
    )
    parser.add_argument("--only", choices=("runner", "plain"), default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tessera-train-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = conversations(args.rows, seed=1)
    write_jsonl(work / "train.jsonl", rows)
    write_jsonl(work / "test.jsonl", conversations(8, seed=2))
    parameters = build_model(work / "model", rows, args)
    env = child_env(args)
    load_start = os.getloadavg()[0]
    # Runner and baseline alternate, --repeats times: on a shared machine the load drifts over minutes, and
    # alternating puts both under the same drift; each pair's ratio and the medians are reported.
    runs: dict[str, list[dict[str, Any]]] = {"runner": [], "plain": []}
    chosen = [pair for pair in (("runner", run_runner), ("plain", run_plain)) if args.only in (None, pair[0])]
    if args.concurrent:
        env = {**env, "OMP_NUM_THREADS": str(args.threads or 1)}
    for _repeat in range(args.repeats):
        if args.concurrent:
            # Both at once, one thread each: whatever else loads the machine loads both alike.
            with ThreadPoolExecutor(len(chosen)) as pool:
                done = list(pool.map(lambda pair: pair[1](work, args, env), chosen))
        else:
            done = [run(work, args, env) for _name, run in chosen]
        for (name, _run), (wall, metrics) in zip(chosen, done, strict=True):
            runs[name].append(
                {
                    "wall_s": wall,
                    **throughput(lines(metrics), parameters=parameters, peak_flops=args.peak_flops),
                }
            )
    results = {name: summary(found) for name, found in runs.items() if found}
    pairs = [
        a["steady_tokens_per_s"] / b["steady_tokens_per_s"]
        for a, b in zip(runs["runner"], runs["plain"], strict=False)
        if a.get("steady_tokens_per_s") and b.get("steady_tokens_per_s")
    ]
    print(
        json.dumps(
            {
                "bench": "training_throughput",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "device": args.device,
                "machine": {
                    "cpu": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(),
                    "load_avg_1m_start_end": [load_start, os.getloadavg()[0]],
                },
                "model": {
                    "parameters": parameters,
                    "hidden_size": args.hidden_size,
                    "layers": args.layers,
                    "heads": args.heads,
                    "vocab_size_asked": args.vocab_size,
                },
                "batch_size": args.batch_size,
                "max_length": args.max_length,
                "max_steps": args.max_steps,
                "runner_packing": args.runner_packing,
                "baseline_packing": args.baseline_packing,
                "peak_flops": args.peak_flops,
                "concurrent": args.concurrent,
                "runner": results.get("runner"),
                "plain": results.get("plain"),
                "runner_over_plain_steady_per_pair": pairs,
                "runner_over_plain_steady_median": statistics.median(pairs) if pairs else None,
                "workdir": str(work),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
