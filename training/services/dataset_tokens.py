"""A dataset version's training tokens, for the estimate: a sample of the train split's rows tokenized
with the base model's tokenizer (from its folder, nothing downloaded), each row cut at max_length where
the run cuts it, the mean extrapolated to every row.

The sample is at most TESSERA_TRAINING_ESTIMATE_SAMPLE_ROWS rows. A file with no more rows than that is
read whole and counted exactly (its rows, not the version's task count: a task gives several rows when
several annotators answered it, or none). A larger one is sampled at evenly spaced byte offsets, the
row after each offset, so a file sorted by task id is sampled from beginning to end, not only its first
tasks; its row count is the version's count of train tasks.

What a row counts, per format, is what the runner feeds the model:
- text_classification: the text with the special tokens; token_classification: the words tokenized as
  split words; both cut at max_length.
- sft_chat: the conversation rendered by the tokenizer's chat template, cut at max_length (trl cuts each
  conversation before it packs them).
- dpo_pairs: prompt + chosen and prompt + rejected, each cut at max_length (DPO runs both; the frozen
  reference model's forward passes are not counted, as 6 · N · D counts only the trained model).
- pretraining_corpus: the text. A causal LM's run concatenates the texts and cuts the stream into blocks,
  so nothing is cut per row; a masked LM's cuts each text at max_length.
- From scratch there is no tokenizer yet (the run trains one): UTF-8 bytes / BYTES_PER_TOKEN.
"""

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings

from training.architectures import CAUSAL_LM
from training.estimate import DatasetCounts
from training.models import BaseModel
from training.recipes.base import Recipe

# A byte-level BPE trained on its own (English-like) corpus averages about four bytes a token; a corpus
# in CJK scripts has fewer (three UTF-8 bytes a character), so this over-counts it, never under-counts.
BYTES_PER_TOKEN = 4.0


@dataclass(frozen=True)
class DatasetTokens:
    """How the estimate's tokens were counted, returned with it."""

    dataset: int
    rows: int
    sampled_rows: int
    exact: bool  # every row was read (no extrapolation)
    mean_tokens_per_row: float  # cut at max_length where the run cuts
    tokens_per_epoch: int
    counted_by: str  # "tokenizer" (the base model's) or "bytes_per_token"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sample_rows(path: Path, limit: int) -> tuple[list[dict[str, Any]], bool]:
    """(rows, whether the file was read whole): the first ``limit`` rows when that is every row, else
    ``limit`` rows at evenly spaced offsets."""
    rows: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        for line in stream:
            if len(rows) == limit:
                break
            if line.strip():
                rows.append(json.loads(line))
        else:
            return rows, True
        size = os.fstat(stream.fileno()).st_size
        rows = []
        for index in range(limit):
            stream.seek(index * size // limit)
            if index:
                stream.readline()  # the rest of the row the offset fell in
            line = stream.readline()
            if line.strip():
                rows.append(json.loads(line))
    return rows, False


@lru_cache(maxsize=4)
def _tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path, local_files_only=True)


def _chat_ids(tokenizer: Any, messages: list[dict[str, Any]]) -> int:
    if getattr(tokenizer, "chat_template", None):
        rendered = tokenizer.apply_chat_template(messages, tokenize=False)
        return len(tokenizer(rendered, add_special_tokens=False)["input_ids"])
    # No template (the launch refuses such a model for SFT): the contents one after the other.
    return len(tokenizer("\n".join(str(m.get("content", "")) for m in messages))["input_ids"])


def _as_messages(value: object, role: str) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [m for m in value if isinstance(m, dict)]
    return [{"role": role, "content": str(value or "")}]


def _row_counter(
    recipe: Recipe, tokenizer: Any, *, max_length: int, cut: bool
) -> Callable[[dict[str, Any]], int]:
    def trim(n: int) -> int:
        return min(n, max_length) if cut else n

    name = recipe.dataset_format
    if name == "sft_chat":
        return lambda row: trim(_chat_ids(tokenizer, _as_messages(row.get("messages"), "user")))
    if name == "dpo_pairs":

        def pair(row: dict[str, Any]) -> int:
            prompt = _as_messages(row.get("prompt"), "user")
            return sum(
                trim(_chat_ids(tokenizer, [*prompt, *_as_messages(row.get(side), "assistant")]))
                for side in ("chosen", "rejected")
            )

        return pair
    if name == "token_classification":
        return lambda row: trim(
            len(tokenizer([str(t) for t in row.get("tokens") or []], is_split_into_words=True)["input_ids"])
        )
    return lambda row: trim(len(tokenizer(str(row.get("text", "")))["input_ids"]))


def _bytes_counter(row: dict[str, Any]) -> int:
    return round(len(str(row.get("text", "")).encode()) / BYTES_PER_TOKEN)


def dataset_counts(
    *,
    dataset_id: int,
    train_rows: int,
    train_file: Path,
    recipe: Recipe,
    base_model: BaseModel | None,
    max_length: int,
) -> tuple[DatasetCounts, DatasetTokens]:
    """The counts the estimate reads, and how they were made. ``train_rows``: the version's train tasks."""
    sample, whole = sample_rows(train_file, settings.TESSERA_TRAINING_ESTIMATE_SAMPLE_ROWS)
    # A causal LM's pre-training streams the texts into blocks: no row is cut (from scratch is causal too).
    concatenated = recipe.dataset_format == "pretraining_corpus" and (
        base_model is None or base_model.kind == CAUSAL_LM
    )
    count: Callable[[dict[str, Any]], int]
    if base_model is None:
        count, counted_by = _bytes_counter, "bytes_per_token"
    else:
        tokenizer = _tokenizer(base_model.path)
        count = _row_counter(recipe, tokenizer, max_length=max_length, cut=not concatenated)
        counted_by = "tokenizer"
    tokens = [count(row) for row in sample]
    rows = len(sample) if whole else train_rows
    mean = sum(tokens) / len(tokens) if tokens else 0.0
    per_epoch = round(mean * rows)
    report = DatasetTokens(
        dataset=dataset_id,
        rows=rows,
        sampled_rows=len(sample),
        exact=whole,
        mean_tokens_per_row=mean,
        tokens_per_epoch=per_epoch,
        counted_by=counted_by,
    )
    # Rows already cut: the total is passed as it is (rows=None keeps DatasetCounts from cutting again).
    return DatasetCounts(tokens=max(per_epoch, 1)), report
