"""What the runner's tests build: tiny models in folders (an encoder on MiniLM's tokenizer, a Llama with a
BPE tokenizer trained on the fixture text), JSONL splits, and the runner run as a real subprocess."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from training.encoders import encoder_path
from training.runner import runner_command, runner_env

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")

CHAT_TEXTS = [
    "what is the capital of france? the capital of france is paris.",
    "what is two plus two? two plus two is four.",
    "which colour is the sky? the sky is blue.",
    "what do bees make? bees make honey.",
    "what is the opposite of hot? the opposite of hot is cold.",
    "how many legs has a spider? a spider has eight legs.",
]


def write_jsonl(file: Path, rows: list[dict[str, Any]]) -> Path:
    file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return file


def tiny_bert(folder: Path) -> Path:
    """A two-layer, 32-wide BERT with MiniLM's vocabulary and tokenizer (about 1M parameters, mostly the
    embeddings): trains in a fraction of a second a step on a CPU."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (encoder_path() / name).is_file():
            shutil.copy(encoder_path() / name, folder / name)
    return folder


def tiny_llama(folder: Path, texts: list[str] = CHAT_TEXTS) -> Path:
    """A two-layer, 32-wide Llama with a byte-level BPE tokenizer (and chat template) trained on ``texts``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from training.runner.tokenizer import train_bpe_tokenizer

    tokenizer = train_bpe_tokenizer(texts * 4, vocab_size=400)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def run_spec(tmp_path: Path, spec: dict[str, Any], *, timeout: float = 300) -> subprocess.CompletedProcess:
    """The runner as a subprocess on ``spec`` (written to tmp_path/spec.json); one torch thread, as the
    test machine's cores are shared."""
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    env = runner_env()
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        runner_command(spec_file), env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def json_lines(file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


def step_losses(output_dir: Path) -> list[float]:
    """The training loss of each logged step, in order (the run's closing summary line left out)."""
    return [row["loss"] for row in json_lines(output_dir / "metrics.jsonl") if "loss" in row]


def events_of(output_dir: Path) -> list[str]:
    return [row["event"] for row in json_lines(output_dir / "events.jsonl")]
