"""The training runner, run as a real subprocess on tiny data: for every recipe the loss goes down, the
final model is written as safetensors and the evaluation lands in eval.json; a classifier beats the
majority baseline; a run killed after its first checkpoint resumes from it; bad rows fail the run with
the reason in its events."""

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.training.runner_support import (
    CHAT_TEXTS,
    events_of,
    json_lines,
    run_spec,
    step_losses,
    tiny_bert,
    tiny_llama,
    write_jsonl,
)
from training.encoders import encoder_path
from training.runner import runner_command, runner_env

POSITIVE = ["great", "excellent", "wonderful", "superb", "delightful", "lovely"]
NEGATIVE = ["terrible", "awful", "dreadful", "horrible", "bad", "poor"]
NOUNS = ["movie", "meal", "service", "trip", "book", "phone", "hotel", "concert"]


def sentiment_rows(count: int, seed: int) -> list[dict]:
    """Separable by one word; two positives for each negative, so the majority baseline scores 2/3."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        label = "negative" if index % 3 == 0 else "positive"
        word = rng.choice(NEGATIVE if label == "negative" else POSITIVE)
        rows.append({"text": f"the {rng.choice(NOUNS)} was {word}", "label": label})
    return rows


NER_SENTENCES = [
    (["acme", "corp", "hired", "jane", "smith"], ["B-ORG", "I-ORG", "O", "B-PER", "I-PER"]),
    (["globex", "paid", "john", "doe"], ["B-ORG", "O", "B-PER", "I-PER"]),
    (["mary", "left", "initech"], ["B-PER", "O", "B-ORG"]),
    (["the", "board", "of", "umbrella", "met", "bob"], ["O", "O", "O", "B-ORG", "O", "B-PER"]),
]


def qa_pairs() -> list[tuple[str, str]]:
    return [(text.split("? ")[0] + "?", text.split("? ")[1]) for text in CHAT_TEXTS]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"bert": tiny_bert(root / "bert"), "llama": tiny_llama(root / "llama")}


def spec_for(
    tmp_path: Path, recipe: str, base_model: Path | None, rows: dict[str, list[dict]], **params
) -> dict:
    data = {
        split: str(write_jsonl(tmp_path / f"{split}.jsonl", split_rows)) for split, split_rows in rows.items()
    }
    return {
        "recipe": recipe,
        "output_dir": str(tmp_path / "run"),
        "base_model": None if base_model is None else str(base_model),
        "data": data,
        "params": {"logging_steps": 1, "save_steps": 1000, "batch_size": 4, "max_length": 32, **params},
    }


def assert_trained(tmp_path: Path, result: subprocess.CompletedProcess) -> dict:
    """The run finished, its loss went down, the model and the evaluation were written; the evaluation."""
    output = tmp_path / "run"
    assert result.returncode == 0, result.stderr[-3000:]
    losses = step_losses(output)
    assert len(losses) >= 4
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2, losses
    assert (output / "model" / "model.safetensors").is_file()
    assert not list((output / "model").glob("*.bin"))
    events = events_of(output)
    assert events[0] == "started" and events[-1] == "finished"
    assert {"train_begin", "model_saved", "evaluated"} <= set(events)
    return json.loads((output / "eval.json").read_text())


def test_text_classification_on_minilm_beats_the_majority_baseline(tmp_path):
    spec = spec_for(
        tmp_path,
        "text_classification",
        encoder_path(),
        {"train": sentiment_rows(48, seed=1), "test": sentiment_rows(24, seed=2)},
        learning_rate=3e-4,
        max_steps=14,
        batch_size=8,
        max_length=12,
    )
    evaluation = assert_trained(tmp_path, run_spec(tmp_path, spec))
    metrics = evaluation["metrics"]
    assert evaluation["split"] == "test"
    assert metrics["majority_label"] == "positive"
    assert metrics["majority_baseline_accuracy"] == pytest.approx(16 / 24)
    assert metrics["accuracy"] > metrics["majority_baseline_accuracy"]
    assert metrics["confusion_matrix"]["labels"] == ["negative", "positive"]
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == 24
    config = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert set(config["id2label"].values()) == {"negative", "positive"}
    line = json_lines(tmp_path / "run" / "metrics.jsonl")[2]
    assert {"step", "epoch", "loss", "learning_rate", "samples_per_second", "tokens_per_second"} <= set(line)


def test_token_classification_reports_entity_f1(tmp_path, models):
    rows = [{"tokens": tokens, "ner_tags": tags} for tokens, tags in NER_SENTENCES]
    spec = spec_for(
        tmp_path,
        "token_classification",
        models["bert"],
        {"train": rows * 4, "validation": rows, "test": rows},
        learning_rate=5e-3,
        max_steps=10,
        save_steps=5,
    )
    metrics = assert_trained(tmp_path, run_spec(tmp_path, spec))["metrics"]
    # The validation split is evaluated at each checkpoint (steps 5 and 10).
    evaluated = [row["step"] for row in json_lines(tmp_path / "run" / "metrics.jsonl") if "eval_loss" in row]
    assert evaluated == [5, 10]
    assert metrics["rows"] == 4
    assert 0.0 <= metrics["entity_f1"] <= 1.0
    assert metrics["token_accuracy"] > 0.5
    assert {"ORG", "PER"} <= set(metrics["per_type"])


def sft_rows() -> list[dict]:
    return [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        for q, a in qa_pairs()
    ]


@pytest.mark.parametrize("lora", [None, {"r": 4, "alpha": 8}], ids=["full", "lora"])
def test_sft_trains_a_tiny_llama_with_its_chat_template(tmp_path, models, lora):
    spec = spec_for(
        tmp_path,
        "sft",
        models["llama"],
        {"train": sft_rows() * 4, "test": sft_rows()},
        learning_rate=3e-3 if lora is None else 2e-2,
        max_steps=8,
        max_length=64,
        lora=lora,
    )
    metrics = assert_trained(tmp_path, run_spec(tmp_path, spec))["metrics"]
    assert metrics["perplexity"] > 1.0
    # A LoRA adapter is merged: the artifact is a plain model folder, loadable without peft.
    assert not (tmp_path / "run" / "model" / "adapter_config.json").exists()
    # Unpacked by default (the recipe's default), so no warning about packing.
    assert "packing_without_varlen_attention" not in events_of(tmp_path / "run")


def test_sft_packing_without_flash_attention_trains_and_says_so(tmp_path, models):
    """Packing is on request only: without a variable-length attention kernel (the CPU here) each pack is
    computed whole, so the run says so in its events, and still trains."""
    spec = spec_for(
        tmp_path,
        "sft",
        models["llama"],
        {"train": sft_rows() * 4, "test": sft_rows()},
        learning_rate=3e-3,
        max_steps=6,
        max_length=64,
        packing=True,
    )
    assert_trained(tmp_path, run_spec(tmp_path, spec))
    warned = [
        e
        for e in json_lines(tmp_path / "run" / "events.jsonl")
        if e["event"] == "packing_without_varlen_attention"
    ]
    assert len(warned) == 1 and warned[0]["attention"] in {"sdpa", "eager"}


def test_dpo_prefers_the_chosen_answers(tmp_path, models):
    pairs = [{"prompt": q, "chosen": a, "rejected": "i do not know."} for q, a in qa_pairs()]
    spec = spec_for(
        tmp_path,
        "dpo",
        models["llama"],
        {"train": pairs * 4, "test": pairs},
        learning_rate=3e-3,
        max_steps=8,
        max_length=64,
    )
    metrics = assert_trained(tmp_path, run_spec(tmp_path, spec))["metrics"]
    assert metrics["reward_accuracy"] > 0.5


@pytest.mark.parametrize("model", ["bert", "llama"])
def test_continued_pretraining_uses_the_objective_of_the_architecture(tmp_path, models, model):
    corpus = [{"text": text} for text in CHAT_TEXTS]
    spec = spec_for(
        tmp_path,
        "continued_pretraining",
        models[model],
        {"train": corpus * 6, "test": corpus},
        learning_rate=5e-3,
        max_steps=10,
        mlm_probability=0.3,
    )
    metrics = assert_trained(tmp_path, run_spec(tmp_path, spec))["metrics"]
    assert metrics["objective"] == ("masked_lm" if model == "bert" else "causal_lm")
    assert metrics["perplexity"] > 1.0


def test_pretraining_from_scratch_trains_its_own_tokenizer(tmp_path):
    corpus = [{"text": text} for text in CHAT_TEXTS]
    spec = spec_for(
        tmp_path,
        "pretraining_from_scratch",
        None,
        {"train": corpus * 4, "validation": corpus, "test": corpus},
        learning_rate=3e-3,
        max_steps=8,
        save_steps=4,
        vocab_size=400,
        hidden_size=32,
        num_layers=2,
        num_heads=2,
    )
    metrics = assert_trained(tmp_path, run_spec(tmp_path, spec))["metrics"]
    assert metrics["vocab_size"] <= 400
    assert "tokenizer_trained" in events_of(tmp_path / "run")
    assert [row["step"] for row in json_lines(tmp_path / "run" / "metrics.jsonl") if "eval_loss" in row] == [
        4,
        8,
    ]
    assert (tmp_path / "run" / "model" / "tokenizer.json").is_file()


def test_a_run_killed_after_its_first_checkpoint_resumes_from_it(tmp_path, models):
    corpus = [{"text": text} for text in CHAT_TEXTS]
    spec = spec_for(
        tmp_path,
        "continued_pretraining",
        models["llama"],
        {"train": corpus * 50},
        max_steps=100_000,
        save_steps=2,
        save_total_limit=2,
    )
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {**runner_env(), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        runner_command(spec_file), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = tmp_path / "run" / "checkpoints"
    deadline = time.monotonic() + 120
    try:
        while not list(checkpoints.glob("checkpoint-*/trainer_state.json")):
            assert process.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within two minutes"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert "finished" not in events_of(tmp_path / "run")
    saved = max(
        int(path.parent.name.split("-")[1]) for path in checkpoints.glob("checkpoint-*/trainer_state.json")
    )

    spec["params"]["max_steps"] = saved + 2  # the same run, told to end soon after where it was cut
    result = run_spec(tmp_path, spec)
    assert result.returncode == 0, result.stderr[-3000:]
    events = json_lines(tmp_path / "run" / "events.jsonl")
    resumed = [event for event in events if event["event"] == "resumed"]
    assert len(resumed) == 1
    assert int(resumed[0]["checkpoint"].rsplit("-", 1)[1]) >= saved
    begin = [event for event in events if event["event"] == "train_begin"][-1]
    assert begin["step"] >= saved  # it started where the checkpoint left off, not at step 0
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    assert len(list(checkpoints.glob("checkpoint-*"))) <= 2  # save_total_limit


def test_rows_missing_a_column_fail_the_run_with_the_reason(tmp_path, models):
    spec = spec_for(
        tmp_path, "text_classification", models["bert"], {"train": [{"text": "no label here"}]}, max_steps=2
    )
    result = run_spec(tmp_path, spec)
    assert result.returncode == 1
    failed = json_lines(tmp_path / "run" / "events.jsonl")[-1]
    assert failed["event"] == "failed"
    assert "has no label" in failed["error"]
    assert not (tmp_path / "run" / "model").exists()
