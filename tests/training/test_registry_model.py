"""A model from Tessera's registry: tiny BERT classifiers built and saved by the test (safetensors, the
MiniLM tokenizer), read back by the backend. Their random weights make random labels, so the checks
are on shapes, label names and offsets; where a label must be known, the classifier's weights are
zeroed and its bias picks the label for every token."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

from annotation.label_config import parse_label_config
from annotation.results import validate_result
from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG
from training.encoders import encoder_path
from training.models import Prelabeler
from training.prelabelers.base import BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.registry import backend_class
from training.prelabelers.registry_model import RegistryModel
from training.services.prelabelers import checked_settings

SENTIMENT = ["Positive", "Negative", "Neutral"]
BIO = ["O", "B-ORG", "I-ORG", "B-PER", "I-PER", "B-MONEY", "I-MONEY"]
ENGLISH = "Acme Bank paid $5 million to 🚀 Tesla."
# The words BERT's pre-tokenizer makes of it, in code points (the rocket is one; UTF-16 would count two).
ENGLISH_WORDS = [
    (0, 4),
    (5, 9),
    (10, 14),
    (15, 16),
    (16, 17),
    (18, 25),
    (26, 28),
    (29, 30),
    (31, 36),
    (36, 37),
]
# Each ideograph is a word of its own; kana runs and punctuation split as in any BERT; "が" loses its
# voicing mark to the uncased model's accent stripping, which must not move the offsets.
JAPANESE = "東京銀行が5億円を払った。"
JAPANESE_WORDS = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (6, 7), (7, 8), (8, 9), (9, 10), (10, 12), (12, 13)]


def build(root: Path, name: str, version: str, kind: str, labels: list[str], *, forced=None, **config_values):
    """Save a tiny BERT classifier under the registry; ``forced``: {label: bias} with zeroed weights."""
    import torch
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
        BertForTokenClassification,
    )

    tokenizer = AutoTokenizer.from_pretrained(encoder_path(), local_files_only=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
        **config_values,
    )
    model_class = BertForSequenceClassification if kind == "sequence" else BertForTokenClassification
    model = model_class(config)
    if forced is not None:
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.fill_(-20.0)
            for label, bias in forced.items():
                model.classifier.bias[labels.index(label)] = bias
    path = root / name / version
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    assert list(path.glob("*.safetensors"))
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    root = data_dir / "models" / "registry"
    build(root, "sentiment", "1", "sequence", SENTIMENT)
    build(root, "sentiment", "two-labels", "sequence", SENTIMENT, forced={"Positive": 5.0, "Negative": 5.0},
          problem_type="multi_label_classification")  # fmt: skip
    build(root, "moods", "1", "sequence", ["Good", "Bad", "Neutral"])
    build(root, "ner", "random", "token", BIO)
    build(root, "ner", "begin", "token", BIO, forced={"B-ORG": 20.0})
    build(root, "ner", "inside", "token", BIO, forced={"I-ORG": 20.0})
    build(root, "ner", "plain", "token", ["O", "ORG", "MONEY"], forced={"MONEY": 20.0})
    build(root, "places", "1", "token", ["O", "B-LOC", "I-LOC"])
    pickled = root / "pickled" / "1"
    pickled.mkdir(parents=True)
    (pickled / "config.json").write_text((root / "ner" / "random" / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x02not loaded")
    outside = data_dir / "outside"
    build(outside, "sentiment", "1", "sequence", SENTIMENT)
    (root / "escape").symlink_to(outside / "sentiment")
    return data_dir


@pytest.fixture(autouse=True)
def registry_data_dir(settings, data_dir):
    settings.DATA_DIR = data_dir


def make_backend(config: str = SENTIMENT_CONFIG, *, checked: bool = True, **values) -> RegistryModel:
    prelabeler = Prelabeler(
        id=1,
        backend="registry_model",
        settings=checked_settings("registry_model", values) if checked else values,
    )
    backend = backend_class("registry_model")(
        prelabeler, parse_label_config(config, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    )
    assert isinstance(backend, RegistryModel)
    return backend


def spans(answer) -> list[tuple[int, int, str]]:
    assert isinstance(answer, PredictionOut)
    return [(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in answer.result]


def test_a_sequence_classifier_answers_the_choices_control():
    backend = make_backend(model="sentiment", version="1")
    backend.check()
    assert backend.model_version() == "registry_model:sentiment:1"
    schema = parse_label_config(SENTIMENT_CONFIG, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    tasks = [
        TaskInput(index, {"text": text}) for index, text in enumerate([ENGLISH, JAPANESE, "", "x " * 600])
    ]
    answers = backend.predict(tasks + [TaskInput(99, {"other": "no text"})])
    by_task = {answer.task_id: answer for answer in answers}
    assert isinstance(by_task.pop(99), Dropped)
    assert sorted(by_task) == [0, 1, 2, 3]
    for task_id, answer in by_task.items():
        assert isinstance(answer, PredictionOut)
        validate_result(schema, answer.result, tasks[task_id].data, field="")
        assert answer.result[0]["value"]["choices"][0] in SENTIMENT
        assert answer.score is not None and 1 / 3 <= answer.score <= 1
        assert answer.uncertainty is not None and 0 <= answer.uncertainty <= 1


def test_a_multi_label_model_on_a_multiple_choice_control_chooses_each_label_over_the_threshold():
    multiple = SENTIMENT_CONFIG.replace('choice="single"', 'choice="multiple"')
    (answer,) = make_backend(multiple, model="sentiment", version="two-labels").predict(
        [TaskInput(1, {"text": "x"})]
    )
    assert answer.result[0]["value"]["choices"] == ["Positive", "Negative"]
    (answer,) = make_backend(model="sentiment", version="two-labels").predict([TaskInput(1, {"text": "x"})])
    assert len(answer.result[0]["value"]["choices"]) == 1  # a single choice


def test_the_models_labels_must_be_the_controls():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(model="moods", version="1").check()
    assert raised.value.field == "settings.model"
    assert "Good, Bad" in raised.value.message
    with pytest.raises(BackendUnfit) as raised:
        make_backend(NER_CONFIG, model="places", version="1").check()
    assert "LOC" in raised.value.message
    with pytest.raises(BackendUnfit) as raised:  # a token classifier needs a Labels control
        make_backend(SENTIMENT_CONFIG, model="ner", version="random").check()
    assert raised.value.field == "backend"


@pytest.mark.parametrize(("text", "words"), [(ENGLISH, ENGLISH_WORDS), (JAPANESE, JAPANESE_WORDS)])
def test_each_b_word_is_a_span_with_exact_code_point_offsets(text, words):
    (answer,) = make_backend(NER_CONFIG, model="ner", version="begin").predict([TaskInput(1, {"text": text})])
    assert spans(answer) == [(start, end, "ORG") for start, end in words]
    for region in answer.result:
        assert region["value"]["text"] == text[region["value"]["start"] : region["value"]["end"]]


@pytest.mark.parametrize("text", [ENGLISH, JAPANESE])
def test_i_words_after_each_other_merge_into_one_span(text):
    (answer,) = make_backend(NER_CONFIG, model="ner", version="inside").predict(
        [TaskInput(1, {"text": text})]
    )
    assert spans(answer) == [(0, len(text), "ORG")]
    assert answer.result[0]["value"]["text"] == text


def test_plain_labels_merge_neighbouring_words_of_the_same_label():
    text = "  Acme paid 5 dollars  "
    (answer,) = make_backend(NER_CONFIG, model="ner", version="plain").predict([TaskInput(1, {"text": text})])
    assert spans(answer) == [(2, 21, "MONEY")]


def test_a_long_text_is_read_in_windows_and_each_word_labeled_once():
    words = [f"word{index}" for index in range(120)]
    text = " ".join(words)
    (answer,) = make_backend(NER_CONFIG, model="ner", version="begin", max_length=16).predict(
        [TaskInput(1, {"text": text})]
    )
    expected, position = [], 0
    for word in words:
        expected.append((position, position + len(word), "ORG"))
        position += len(word) + 1
    assert spans(answer) == expected


def test_random_token_predictions_are_valid_results():
    schema = parse_label_config(NER_CONFIG, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    backend = make_backend(NER_CONFIG, model="ner", version="random")
    tasks = [
        TaskInput(index, {"text": text}) for index, text in enumerate([ENGLISH, JAPANESE, "", "word " * 300])
    ]
    for answer in backend.predict(tasks):
        assert isinstance(answer, PredictionOut)
        data = tasks[answer.task_id].data
        validate_result(schema, answer.result, data, field="")
        for region in answer.result:
            assert region["value"]["text"] == data["text"][region["value"]["start"] : region["value"]["end"]]
            assert region["value"]["labels"][0] in ("ORG", "PER", "MONEY")
        if data["text"]:
            assert answer.score is not None and 0 < answer.score <= 1
        else:
            assert answer.result == [] and answer.score is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"model": "../sentiment", "version": "1"}, "settings.model"),
        ({"model": "sentiment", "version": ".."}, "settings.version"),
        ({"model": "a/b", "version": "1"}, "settings.model"),
        ({"model": "/etc", "version": "1"}, "settings.model"),
        ({"model": ".hidden", "version": "1"}, "settings.model"),
        ({"model": "sentiment", "version": "1\\..\\x"}, "settings.version"),
        ({"model": "sentiment"}, "settings.version"),
        ({"version": "1"}, "settings.model"),
    ],
)
def test_names_that_could_leave_the_registry_are_refused_when_saved(values, field):
    with pytest.raises(ApplicationError) as raised:
        checked_settings("registry_model", values)
    assert raised.value.field == field


def test_names_are_checked_again_when_the_model_is_read():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(checked=False, model="..", version="registry").check()
    assert raised.value.field == "settings.model"


def test_a_symbolic_link_out_of_the_registry_is_refused():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(model="escape", version="1").check()
    assert "outside the registry" in raised.value.message


def test_a_missing_model_or_version_names_which():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(model="nothing", version="1").check()
    assert raised.value.field == "settings.model"
    with pytest.raises(BackendUnfit) as raised:
        make_backend(model="sentiment", version="9").check()
    assert raised.value.field == "settings.version"


def test_weights_that_are_not_safetensors_are_not_loaded():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(NER_CONFIG, model="pickled", version="1").check()
    assert "safetensors" in raised.value.message
