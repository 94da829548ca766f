"""The runner's generated answers (training/runner/generation.py): after an SFT or DPO run on a tiny Llama,
generations.jsonl holds the trained and the base model's greedy answers to the test prompts, rendered with
the model's chat template, and the run logs ``generated``."""

import json
from pathlib import Path

import pytest

from tests.training.runner_support import events_of, json_lines, run_spec, tiny_llama
from tests.training.test_runner import qa_pairs, sft_rows, spec_for
from training.runner.generation import generate_answers, prompts_of
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("models") / "llama")


def greedy(folder: Path, tokenizer_folder: Path, messages: list[dict], max_new_tokens: int) -> str:
    """What the base model answers, computed here the plain transformers way, one prompt at a time."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.inference_mode():
        output = model.generate(**ids, do_sample=False, max_new_tokens=max_new_tokens)
    answer = tokenizer.decode(output[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    assert isinstance(answer, str)
    return answer.strip()


def test_sft_writes_the_trained_and_base_answers_to_the_test_prompts(tmp_path, llama):
    spec = spec_for(
        tmp_path,
        "sft",
        llama,
        {"train": sft_rows() * 4, "test": sft_rows()},
        learning_rate=3e-3,
        max_steps=6,
        max_length=64,
        max_new_tokens=12,
        generation_prompts=4,
    )
    result = run_spec(tmp_path, spec)
    assert result.returncode == 0, result.stderr[-3000:]
    output = tmp_path / "run"
    events = events_of(output)
    assert events.index("model_saved") < events.index("generated") < events.index("evaluated")
    generated = next(row for row in json_lines(output / "events.jsonl") if row["event"] == "generated")
    assert generated["rows"] == 4 and generated["max_new_tokens"] == 12 and generated["base_model"] is True

    rows = json_lines(output / "generations.jsonl")
    assert len(rows) == 4  # at most generation_prompts of the six test prompts
    for row, (question, answer) in zip(rows, qa_pairs(), strict=False):
        assert row["prompt"] == [{"role": "user", "content": question}]
        assert row["reference"] == answer
        assert isinstance(row["answer"], str) and isinstance(row["base_answer"], str)
    # Batched, left-padded greedy decoding gives what one prompt at a time gives.
    for row in rows[:2]:
        assert row["base_answer"] == greedy(llama, output / "model", row["prompt"], 12)
        assert row["answer"] == greedy(output / "model", output / "model", row["prompt"], 12)
    assert not list(output.glob("*.partial"))


def test_dpo_answers_plain_text_prompts(tmp_path, llama):
    pairs = [{"prompt": q, "chosen": a, "rejected": "i do not know."} for q, a in qa_pairs()]
    spec = spec_for(
        tmp_path,
        "dpo",
        llama,
        {"train": pairs * 2, "test": pairs},
        learning_rate=3e-3,
        max_steps=4,
        max_length=64,
        max_new_tokens=6,
        generation_prompts=3,
    )
    result = run_spec(tmp_path, spec)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json_lines(tmp_path / "run" / "generations.jsonl")
    assert [row["prompt"] for row in rows] == [q for q, _a in qa_pairs()[:3]]
    assert [row["reference"] for row in rows] == [a for _q, a in qa_pairs()[:3]]
    assert all(isinstance(row["base_answer"], str) for row in rows)


def test_without_a_test_split_nothing_is_generated(tmp_path):
    spec = RunSpec(recipe="sft", output_dir=tmp_path, train=tmp_path / "train.jsonl")
    events = EventLog(tmp_path / "events.jsonl")
    assert generate_answers(spec, None, events) is None
    assert json.loads((tmp_path / "events.jsonl").read_text())["event"] == "generation_skipped"
    assert not (tmp_path / "generations.jsonl").exists()


def test_prompts_are_what_comes_before_the_last_assistant_message():
    conversation = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"},
        {"role": "assistant", "content": "that is all"},
    ]
    assert prompts_of([{"messages": conversation}]) == [(conversation[:4], "that is all")]
    assert prompts_of([{"messages": conversation[:2]}]) == [(conversation[:2], None)]
    assert prompts_of([{"messages": [conversation[2]]}]) == []  # nothing asked before the answer
    assert prompts_of([{"prompt": "q?", "chosen": "a", "rejected": "b"}]) == [("q?", "a")]
    chosen = [{"role": "assistant", "content": "a"}]
    assert prompts_of([{"prompt": [conversation[1]], "chosen": chosen}]) == [([conversation[1]], "a")]
