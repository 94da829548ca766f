"""Answers of the trained model (and of its base model) to the test split's prompts, for the evaluation
project where reviewers rate them and compare them blind (training/services/evaluation_projects.py).

Runs after training and evaluation in the SFT and DPO runners, in the runner's process: no Django. Decoding
is greedy, so the same model gives the same answers again; at most ``generation_prompts`` prompts are
answered with at most ``max_new_tokens`` tokens each (the recipe's parameters). A chat prompt (a list of
messages) is rendered with the model's chat template and a generation prompt; a plain-text prompt (DPO's
non-conversational rows) is given as it is, the way trl trained on it. Both models read the prompts
through the trained model's tokenizer, saved from the base model's, so they see the same tokens.

``generations.jsonl``: one row per prompt ``{"prompt", "answer", "base_answer" (null without a base
model), "reference" (the split's own answer, when it has one)}``; written whole through a temporary file,
so a run killed mid-way leaves none rather than half of one.
"""

import gc
import json
import os
from pathlib import Path
from typing import Any

from training.runner import process_rank
from training.runner.reporting import EventLog
from training.runner.spec import RunSpec

GENERATIONS_FILE = "generations.jsonl"
DEFAULT_MAX_NEW_TOKENS = 128
DEFAULT_PROMPTS = 64
BATCH = 8  # prompts per generate() call: padding stays small and memory bounded on a large model

Prompt = str | list[dict[str, Any]]


def generations_file(spec: RunSpec) -> Path:
    return spec.output_dir / GENERATIONS_FILE


def _content(value: object) -> str | None:
    """The text of an answer: a string, or the last assistant message of a conversation."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        for message in reversed(value):
            if isinstance(message, dict) and message.get("role") == "assistant":
                return str(message.get("content", ""))
    return None


def prompts_of(rows: list[dict[str, Any]]) -> list[tuple[Prompt, str | None]]:
    """(prompt, reference answer) per row. A chat row {"messages"} is asked everything before its last
    assistant message, which is the reference; a preference row {"prompt", "chosen"} is asked its prompt,
    and the chosen answer is the reference. Rows with nothing to ask are left out."""
    found: list[tuple[Prompt, str | None]] = []
    for row in rows:
        if isinstance(row.get("messages"), list):
            messages = row["messages"]
            last = max(
                (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
                default=None,
            )
            asked = messages if last is None else messages[:last]
            if asked:
                found.append((asked, None if last is None else str(messages[last].get("content", ""))))
        elif isinstance(row.get("prompt"), str | list) and row["prompt"]:
            found.append((row["prompt"], _content(row.get("chosen"))))
    return found


def _prompt_ids(tokenizer: Any, prompt: Prompt, *, max_length: int) -> list[int]:
    if isinstance(prompt, list):
        if tokenizer.chat_template:
            text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
            # The template writes the special tokens itself (BOS among them): none are added again.
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        else:  # a DPO base without a template: the conversation as plain lines, as trl would not render it
            text = "\n".join(f"{m.get('role')}: {m.get('content')}" for m in prompt) + "\nassistant:"
            ids = tokenizer(text)["input_ids"]
    else:
        ids = tokenizer(prompt)["input_ids"]
    return ids[-max_length:]  # a long prompt keeps its end, where the question is


def _answers(folder: Path, tokenizer: Any, prompt_ids: list[list[int]], *, max_new_tokens: int) -> list[str]:
    import torch
    from transformers import AutoModelForCausalLM

    device = "cuda" if torch.cuda.is_available() else "cpu"
    # bf16 on a GPU that has it (half the memory, the speed of its tensor cores); the saved dtype elsewhere.
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    options: dict[str, Any] = {"dtype": torch.bfloat16} if bf16 else {}
    model: Any = AutoModelForCausalLM.from_pretrained(
        folder, local_files_only=True, use_safetensors=True, **options
    )
    model.to(device).eval()
    answers: list[str] = []
    try:
        for start in range(0, len(prompt_ids), BATCH):
            batch = tokenizer.pad(
                {"input_ids": prompt_ids[start : start + BATCH]}, padding=True, return_tensors="pt"
            ).to(device)
            with torch.inference_mode():
                output = model.generate(
                    **batch,
                    do_sample=False,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
            # Left padding: every prompt ends at the same column, and the answer is what follows it.
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            answers.extend(tokenizer.batch_decode(new_tokens, skip_special_tokens=True))
    finally:
        # The base model is loaded next: the trained one's memory is given back first.
        del model
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    return [answer.strip() for answer in answers]


def generate_answers(
    spec: RunSpec, params: Any, events: EventLog, *, rows: list[dict[str, Any]] | None = None
) -> Path | None:
    """Write generations.jsonl for the test split (``rows``: its rows, read already) and log ``generated``.
    Without a test split, or with ``generation_prompts`` 0, nothing is generated: answers to training
    prompts would tell reviewers nothing about the model."""
    from transformers import AutoTokenizer

    if process_rank() != 0:
        # Under torchrun every process gets here: the others would write and rename the same file
        # at once (one rank's os.replace found the other's .partial already moved: a failed run).
        return None
    limit = int(getattr(params, "generation_prompts", DEFAULT_PROMPTS))
    max_new_tokens = int(getattr(params, "max_new_tokens", DEFAULT_MAX_NEW_TOKENS))
    if spec.test is None or limit == 0:
        events.event("generation_skipped", reason="no test split" if spec.test is None else "disabled")
        return None
    if rows is None:
        from training.runner.spec import read_jsonl

        rows = read_jsonl(spec.test)
    prompts = prompts_of(rows)[:limit]
    tokenizer = AutoTokenizer.from_pretrained(spec.model_dir, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    max_prompt = max(1, int(getattr(params, "max_length", 1024)))
    prompt_ids = [_prompt_ids(tokenizer, prompt, max_length=max_prompt) for prompt, _ref in prompts]
    answers = _answers(spec.model_dir, tokenizer, prompt_ids, max_new_tokens=max_new_tokens)
    base_answers: list[str | None] = (
        list(_answers(spec.base_model, tokenizer, prompt_ids, max_new_tokens=max_new_tokens))
        if spec.base_model is not None
        else [None] * len(prompts)
    )
    target = generations_file(spec)
    partial = target.with_suffix(".jsonl.partial")
    with partial.open("w", encoding="utf-8") as handle:
        for (prompt, reference), answer, base_answer in zip(prompts, answers, base_answers, strict=True):
            row: dict[str, Any] = {"prompt": prompt, "answer": answer, "base_answer": base_answer}
            if reference is not None:
                row["reference"] = reference
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(partial, target)
    events.event(
        "generated",
        rows=len(prompts),
        max_new_tokens=max_new_tokens,
        base_model=spec.base_model is not None,
        file=GENERATIONS_FILE,
    )
    return target
