"""Zero-shot by label description, with the real MiniLM model."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from annotation.label_config import parse_label_config
from annotation.results import validate_result
from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG
from training.models import Prelabeler
from training.prelabelers.base import BackendUnfit, Dropped, PredictionOut, TaskInput
from training.prelabelers.registry import backend_class
from training.prelabelers.zero_shot import ZeroShot
from training.services.prelabelers import checked_settings, create_prelabeler

FIXTURE = Path(__file__).parent / "fixtures" / "financial_sentences.jsonl"
LABELS = ["Positive", "Negative", "Neutral"]
DESCRIPTIONS = {
    "Positive": "Good financial news: profits, sales or the share price rose and the outlook improved.",
    "Negative": "Bad financial news: losses, falling sales, a share price drop, cuts and warnings.",
    "Neutral": "A plain factual statement about a company, with no good or bad news about its results.",
}


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


@pytest.fixture(scope="module")
def tasks(rows) -> list[TaskInput]:
    return [TaskInput(id=index, data={"text": row["text"]}) for index, row in enumerate(rows)]


def make_backend(config: str = SENTIMENT_CONFIG, **values) -> ZeroShot:
    prelabeler = Prelabeler(id=1, backend="zero_shot", settings=checked_settings("zero_shot", values))
    backend = backend_class("zero_shot")(
        prelabeler, parse_label_config(config, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    )
    assert isinstance(backend, ZeroShot)
    backend.check()
    return backend


def test_every_task_gets_a_valid_prediction(tasks, rows):
    backend = make_backend()
    schema = parse_label_config(SENTIMENT_CONFIG, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    answers = backend.predict(tasks)
    assert sorted(answer.task_id for answer in answers) == list(range(len(rows)))
    for answer in answers:
        assert isinstance(answer, PredictionOut)
        validate_result(schema, answer.result, {"text": rows[answer.task_id]["text"]}, field="")
        (region,) = answer.result
        assert region["type"] == "choices" and region["value"]["choices"][0] in LABELS
        assert answer.score is not None and 1 / 3 <= answer.score <= 1
        assert answer.uncertainty is not None and 0 <= answer.uncertainty <= 1


def test_descriptions_do_better_than_chance(tasks, rows):
    answers = make_backend(descriptions=DESCRIPTIONS).predict(tasks)
    correct = sum(
        isinstance(answer, PredictionOut)
        and answer.result[0]["value"]["choices"] == [rows[answer.task_id]["label"]]
        for answer in answers
    )
    assert correct / len(rows) >= 0.5, correct  # chance: a third


def test_scores_are_a_softmax_of_cosine_similarities(tasks):
    backend = make_backend(temperature=0.1)
    from training.encoders import encode

    texts = [task.data["text"] for task in tasks[:5]]
    similarity = encode(texts) @ encode([f"This text is about {label}." for label in LABELS]).T
    expected = np.exp(similarity / 0.1) / np.exp(similarity / 0.1).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(backend.probabilities(texts), expected, atol=1e-5)
    for answer, row in zip(backend.predict(tasks[:5]), expected, strict=True):
        assert isinstance(answer, PredictionOut)
        assert answer.score == pytest.approx(row.max(), abs=1e-5)
        assert answer.result[0]["value"]["choices"] == [LABELS[int(row.argmax())]]


def test_the_least_certain_task_has_the_highest_uncertainty(tasks):
    backend = make_backend(descriptions=DESCRIPTIONS)
    answers = backend.predict(tasks)
    probabilities = backend.probabilities([task.data["text"] for task in tasks])
    least_certain = int(np.argmin(probabilities.max(axis=1)))
    most_certain = int(np.argmax(probabilities.max(axis=1)))
    uncertainty = {answer.task_id: answer.uncertainty for answer in answers}
    assert uncertainty[least_certain] > uncertainty[most_certain]
    # The entropy is at most 1, reached only by a uniform spread; a sure answer is near 0.
    assert max(value for value in uncertainty.values() if value is not None) <= 1


def test_the_model_version_follows_what_decides_the_answers():
    plain = make_backend().model_version()
    assert plain.startswith("zero_shot:") and plain == make_backend().model_version()
    assert make_backend(descriptions={"Positive": "Good news."}).model_version() != plain
    assert make_backend(template="News about {label}.").model_version() != plain
    assert make_backend(temperature=0.2).model_version() != plain
    assert make_backend(threshold=0.9).model_version() == plain  # single choice: the threshold is unused


def test_a_template_is_filled_without_format():
    backend = make_backend(template="{label.__class__} and {label} and {0}")
    assert backend.label_texts[0] == "{label.__class__} and Positive and {0}"


def test_multiple_choice_gets_at_least_one_choice(tasks):
    config = SENTIMENT_CONFIG.replace('choice="single"', 'choice="multiple"')
    for threshold, most in ((1.0, 1), (0.0, 3)):
        for answer in make_backend(config, threshold=threshold).predict(tasks[:6]):
            assert isinstance(answer, PredictionOut)
            chosen = answer.result[0]["value"]["choices"]
            assert len(chosen) == most


def test_a_task_without_text_is_dropped():
    answers = make_backend().predict([TaskInput(1, {"text": None}), TaskInput(2, {"text": ""})])
    assert isinstance(answers[0], Dropped)
    assert isinstance(answers[1], PredictionOut)  # an empty text is still a text


def test_descriptions_must_name_the_controls_choices():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(descriptions={"Bullish": "Prices go up."})
    assert raised.value.field == "settings.descriptions"
    with pytest.raises(BackendUnfit) as raised:
        make_backend(NER_CONFIG)
    assert raised.value.field == "backend"


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"template": "no slot"}, "settings.template"),
        ({"temperature": 0}, "settings.temperature"),
        ({"descriptions": {"Positive": ""}}, "settings.descriptions"),
        ({"descriptions": ["Positive"]}, "settings.descriptions"),
    ],
)
def test_bad_settings_name_the_key(value, field):
    with pytest.raises(ApplicationError) as raised:
        checked_settings("zero_shot", value)
    assert raised.value.field.startswith(field)


def test_the_backend_name_alone_is_enough_on_a_choices_project(make_project, cast):
    prelabeler = create_prelabeler(project=make_project(), user=cast.users["manager"], backend="zero_shot")
    assert prelabeler.settings["template"] == "This text is about {label}."
    assert prelabeler.settings["descriptions"] == {}
