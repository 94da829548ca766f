"""The embedding classifier with the real MiniLM model, on financial sentences written for these tests."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings

from annotation.label_config import parse_label_config
from annotation.results import validate_result
from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG
from training.encoders import encode
from training.models import Prelabeler
from training.prelabelers.base import BackendUnfit, Dropped, Example, PredictionOut, TaskInput
from training.prelabelers.embedding_classifier import EmbeddingClassifier, FittedModel, fit_model
from training.prelabelers.registry import backend_class
from training.services.prelabelers import checked_settings, create_prelabeler

FIXTURE = Path(__file__).parent / "fixtures" / "financial_sentences.jsonl"
LABELS = ["Positive", "Negative", "Neutral"]
# The fixture alternates Positive, Negative, Neutral: the first 90 rows train (30 of each), the last 30 test.
TRAIN_ROWS = 90
MULTIPLE_CONFIG = SENTIMENT_CONFIG.replace('choice="single"', 'choice="multiple"')
TWO_FIELDS_CONFIG = """<View>
  <Text name="headline" value="$headline"/>
  <Text name="body" value="$body"/>
  <Choices name="tone" toName="body"><Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices>
</View>"""


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text().splitlines()]


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


def make_backend(config: str = SENTIMENT_CONFIG, *, pk: int = 1, model_version: str = "", **values):
    prelabeler = Prelabeler(
        id=pk,
        backend="embedding_classifier",
        settings=checked_settings("embedding_classifier", values),
        model_version=model_version,
    )
    backend = backend_class("embedding_classifier")(
        prelabeler, parse_label_config(config, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    )
    assert isinstance(backend, EmbeddingClassifier)
    return backend


def example(task_id: int, text: str, *labels: str, control: str = "sentiment", key: str = "text") -> Example:
    result = [{"from_name": control, "to_name": key, "type": "choices", "value": {"choices": list(labels)}}]
    return Example(task_id=task_id, data={key: text}, result=result)


def train_examples(rows: list[dict]) -> list[Example]:
    return [example(index, row["text"], row["label"]) for index, row in enumerate(rows[:TRAIN_ROWS])]


def held_out_tasks(rows: list[dict]) -> list[TaskInput]:
    return [
        TaskInput(id=index, data={"text": row["text"]})
        for index, row in enumerate(rows)
        if index >= TRAIN_ROWS
    ]


def held_out_accuracy(backend: EmbeddingClassifier, rows: list[dict]) -> tuple[float, float]:
    """(accuracy, majority-class baseline) on the held-out rows."""
    answers = {answer.task_id: answer for answer in backend.predict(held_out_tasks(rows))}
    assert all(isinstance(answer, PredictionOut) for answer in answers.values())
    truth = {index: row["label"] for index, row in enumerate(rows) if index >= TRAIN_ROWS}
    correct = sum(
        answer.result[0]["value"]["choices"] == [truth[task_id]]
        for task_id, answer in answers.items()
        if isinstance(answer, PredictionOut)
    )
    train_labels = [row["label"] for row in rows[:TRAIN_ROWS]]
    majority = max(LABELS, key=train_labels.count)
    baseline = sum(label == majority for label in truth.values()) / len(truth)
    return correct / len(truth), baseline


@pytest.mark.parametrize("classifier", ["logistic_regression", "knn"])
def test_classifier_beats_the_majority_baseline_on_held_out_sentences(rows, classifier):
    backend = make_backend(classifier=classifier)
    fit = backend.fit(train_examples(rows))
    assert fit.examples == TRAIN_ROWS
    assert fit.info["classes"] == sorted(LABELS)
    assert fit.info["examples_per_class"] == {"Negative": 30, "Neutral": 30, "Positive": 30}
    accuracy, baseline = held_out_accuracy(backend, rows)
    assert baseline == pytest.approx(1 / 3)
    assert accuracy >= baseline + 0.35, (accuracy, baseline)
    # The fit's own held-out figure (a stratified fifth of its examples) says the same.
    assert fit.info["held_out_examples"] == 18
    assert fit.info["held_out_accuracy"] > fit.info["majority_baseline_accuracy"] + 0.25


def test_predictions_are_results_the_config_accepts(rows):
    backend = make_backend()
    backend.fit(train_examples(rows))
    schema = parse_label_config(SENTIMENT_CONFIG, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    answers = backend.predict(held_out_tasks(rows))
    assert sorted(answer.task_id for answer in answers) == list(range(TRAIN_ROWS, len(rows)))
    for answer in answers:
        assert isinstance(answer, PredictionOut)
        validate_result(schema, answer.result, {"text": rows[answer.task_id]["text"]}, field="")
        (region,) = answer.result
        assert region["from_name"] == "sentiment" and region["to_name"] == "text"
        assert isinstance(region["id"], str) and region["id"]
        assert answer.score is not None and 1 / 3 <= answer.score <= 1
        assert answer.uncertainty is not None and 0 <= answer.uncertainty <= 1


def test_the_least_certain_task_has_the_highest_uncertainty(rows):
    """Uncertainty is the normalised entropy of the class probabilities: a sentence that says nothing
    about results is less certain than plain good or bad news, and the order follows the probabilities."""
    backend = make_backend()
    backend.fit([example(index, row["text"], row["label"]) for index, row in enumerate(rows)])
    tasks = [
        TaskInput(1, {"text": "Profits soared to a record and the company raised its dividend."}),
        TaskInput(2, {"text": "The company swung to a heavy loss and cut its dividend."}),
        TaskInput(3, {"text": "Revenue rose strongly, but profits fell and the dividend was cut."}),
    ]
    answers = {answer.task_id: answer for answer in backend.predict(tasks)}
    uncertainty = {task_id: answer.uncertainty for task_id, answer in answers.items()}
    assert max(uncertainty, key=uncertainty.get) == 3, uncertainty

    probabilities = backend._loaded().probabilities(encode([task.data["text"] for task in tasks]))
    entropy = -(probabilities * np.log(probabilities)).sum(axis=1) / np.log(3)
    np.testing.assert_allclose([uncertainty[1], uncertainty[2], uncertainty[3]], entropy, atol=1e-6)


def test_the_saved_model_reloads_in_a_new_backend_and_predicts_the_same(rows, data_dir):
    first = make_backend(pk=5)
    fit = first.fit(train_examples(rows))
    assert fit.model_version == "embedding_classifier:1"
    tasks = held_out_tasks(rows)
    before = first.predict(tasks)

    again = make_backend(pk=5, model_version=fit.model_version)
    after = again.predict(tasks)
    assert after == before
    assert again._model is not None and again._model is not first._model


@pytest.mark.parametrize("classifier", ["logistic_regression", "knn"])
def test_no_pickle_is_written(rows, data_dir, classifier):
    backend = make_backend(pk=3, classifier=classifier)
    backend.fit(train_examples(rows))
    files = sorted(path for path in (data_dir / "models" / "prelabelers" / "3").rglob("*") if path.is_file())
    assert [path.relative_to(data_dir / "models" / "prelabelers" / "3").as_posix() for path in files] == [
        "1/arrays.npz",
        "1/model.json",
    ]
    for path in files:
        assert path.read_bytes()[:1] != b"\x80"  # a pickle's first byte (protocol 2 and later)
    with np.load(files[0], allow_pickle=False) as arrays:  # object arrays would need pickle and fail here
        assert all(arrays[name].dtype != object for name in arrays.files)
    json.loads(files[1].read_text())


def test_probabilities_are_scikit_learns(rows):
    """The saved arrays give what scikit-learn's own models give, without keeping the models."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    embeddings = encode([row["text"] for row in rows])
    targets = np.array([LABELS.index(row["label"]) for row in rows])
    train, test = embeddings[:TRAIN_ROWS], embeddings[TRAIN_ROWS:]

    ours = fit_model(
        train,
        targets[:TRAIN_ROWS],
        classes=LABELS,
        multiple=False,
        classifier="logistic_regression",
        k=15,
        c=10.0,
    )
    theirs = LogisticRegression(C=10.0, max_iter=1000).fit(train, targets[:TRAIN_ROWS])
    np.testing.assert_allclose(ours.probabilities(test), theirs.predict_proba(test), atol=1e-6)

    ours = fit_model(
        train, targets[:TRAIN_ROWS], classes=LABELS, multiple=False, classifier="knn", k=7, c=1.0
    )
    neighbours = KNeighborsClassifier(n_neighbors=7, metric="cosine", algorithm="brute")
    np.testing.assert_allclose(
        ours.probabilities(test), neighbours.fit(train, targets[:TRAIN_ROWS]).predict_proba(test)
    )

    binary = targets[:TRAIN_ROWS] != 2
    ours = fit_model(
        train,
        binary.astype(int),
        classes=["no", "yes"],
        multiple=False,
        classifier="logistic_regression",
        k=15,
        c=1.0,
    )
    theirs = LogisticRegression(C=1.0, max_iter=1000).fit(train, binary.astype(int))
    np.testing.assert_allclose(ours.probabilities(test), theirs.predict_proba(test), atol=1e-6)


def test_each_fit_is_a_new_model_version(rows, data_dir):
    backend = make_backend(pk=9)
    assert backend.model_version() == ""
    assert backend.fit(train_examples(rows)).model_version == "embedding_classifier:1"
    assert backend.model_version() == "embedding_classifier:1"
    assert backend.fit(train_examples(rows)[:60]).model_version == "embedding_classifier:2"
    # A new backend object for the pre-labeler as saved after its first fit still counts on.
    stale = make_backend(pk=9, model_version="embedding_classifier:1")
    assert stale.fit(train_examples(rows)).model_version == "embedding_classifier:3"
    assert sorted(path.name for path in (data_dir / "models" / "prelabelers" / "9").iterdir()) == [
        "1",
        "2",
        "3",
    ]
    reloaded = FittedModel.load(data_dir / "models" / "prelabelers" / "9" / "2")
    assert reloaded.classes == sorted(LABELS)


def test_predicting_before_any_fit_says_so():
    with pytest.raises(BackendUnfit) as raised:
        make_backend().predict([TaskInput(1, {"text": "Profits rose."})])
    assert raised.value.field == "backend"


def test_a_fit_needs_two_classes(rows):
    positives = [example(index, row["text"], "Positive") for index, row in enumerate(rows[:30])]
    with pytest.raises(BackendUnfit) as raised:
        make_backend().fit(positives)
    assert raised.value.field == "examples"
    assert "Positive: 30" in raised.value.message
    with pytest.raises(BackendUnfit):
        make_backend().fit([])


def test_classes_under_min_examples_are_left_out(rows):
    examples = train_examples(rows)
    neutral = [item for item in examples if item.result[0]["value"]["choices"] == ["Neutral"]]
    kept = [item for item in examples if item not in neutral] + neutral[:3]
    backend = make_backend(min_examples=5)
    fit = backend.fit(kept)
    assert fit.info["classes"] == ["Negative", "Positive"]
    assert fit.info["left_out_classes"] == {"Neutral": 3}
    assert fit.examples == 60
    for answer in backend.predict(held_out_tasks(rows)):
        assert isinstance(answer, PredictionOut)
        assert answer.result[0]["value"]["choices"] in (["Positive"], ["Negative"])


def test_examples_without_the_controls_answer_or_text_are_not_learned(rows):
    examples = train_examples(rows)
    other_control = Example(
        task_id=1000,
        data={"text": "x"},
        result=[{"from_name": "other", "type": "choices", "value": {"choices": ["Positive"]}}],
    )
    no_text = Example(task_id=1001, data={"headline": "Profits rose"}, result=examples[0].result)
    unknown_label = example(1002, "Shares rose.", "Bullish")
    fit = make_backend().fit(examples + [other_control, no_text, unknown_label])
    assert fit.examples == TRAIN_ROWS
    assert fit.info["examples_without_text"] == 1


def test_a_task_without_text_is_dropped_and_the_rest_answered(rows):
    backend = make_backend()
    backend.fit(train_examples(rows))
    answers = backend.predict(
        [TaskInput(1, {"text": "Profits rose."}), TaskInput(2, {"text": 42}), TaskInput(3, {})]
    )
    by_task = {answer.task_id: answer for answer in answers}
    assert isinstance(by_task[1], PredictionOut)
    assert isinstance(by_task[2], Dropped) and isinstance(by_task[3], Dropped)
    assert "$text" in by_task[2].reason


def test_the_text_is_the_field_the_choices_control_labels(rows):
    backend = make_backend(TWO_FIELDS_CONFIG)
    examples = [
        Example(
            index,
            {"headline": "Market update", "body": row["text"]},
            [
                {
                    "from_name": "tone",
                    "to_name": "body",
                    "type": "choices",
                    "value": {"choices": [row["label"]]},
                }
            ],
        )
        for index, row in enumerate(rows[:TRAIN_ROWS])
    ]
    assert backend.fit(examples).examples == TRAIN_ROWS
    tasks = [
        TaskInput(index, {"headline": "Market update", "body": row["text"]})
        for index, row in enumerate(rows)
        if index >= TRAIN_ROWS
    ]
    answers = backend.predict(tasks)
    correct = sum(
        isinstance(answer, PredictionOut)
        and answer.result[0]["value"]["choices"] == [rows[answer.task_id]["label"]]
        for answer in answers
    )
    assert answers[0].result[0]["to_name"] == "body"
    assert correct >= 20  # the same headline everywhere: right answers come from the body


def test_multiple_choice_control_chooses_by_threshold(rows):
    backend = make_backend(MULTIPLE_CONFIG)
    fit = backend.fit(train_examples(rows))
    assert fit.info["classes"] == LABELS  # one yes/no model per choice, in the control's order
    assert fit.info["held_out_label_accuracy"] > fit.info["majority_label_accuracy"]
    schema = parse_label_config(MULTIPLE_CONFIG, max_bytes=django_settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    correct = 0
    for answer in backend.predict(held_out_tasks(rows)):
        assert isinstance(answer, PredictionOut)
        validate_result(schema, answer.result, {"text": rows[answer.task_id]["text"]}, field="")
        chosen = answer.result[0]["value"]["choices"]
        assert chosen and set(chosen) <= set(LABELS)
        correct += rows[answer.task_id]["label"] in chosen
        assert answer.score is not None and 0.5 <= answer.score <= 1
        assert answer.uncertainty is not None and 0 <= answer.uncertainty <= 1
    assert correct >= 20

    everything = make_backend(MULTIPLE_CONFIG, threshold=0.0)
    everything.fit(train_examples(rows))
    for answer in everything.predict(held_out_tasks(rows)[:3]):
        assert answer.result[0]["value"]["choices"] == LABELS


def test_the_config_must_have_a_choices_control_over_text():
    with pytest.raises(BackendUnfit) as raised:
        make_backend(NER_CONFIG).check()
    assert raised.value.field == "backend"
    with pytest.raises(BackendUnfit) as raised:
        make_backend(control="missing").check()
    assert raised.value.field == "settings.control"
    make_backend(control="sentiment").check()


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"classifier": "svm"}, "settings.classifier"),
        ({"k": 0}, "settings.k"),
        ({"c": -1}, "settings.c"),
        ({"c": "NaN"}, "settings.c"),
        ({"threshold": 1.5}, "settings.threshold"),
        ({"max_length": 100000}, "settings.max_length"),
        ({"min_examples": "two"}, "settings.min_examples"),
        ([], "settings"),
    ],
)
def test_bad_settings_name_the_key(value, field):
    with pytest.raises(ApplicationError) as raised:
        checked_settings("embedding_classifier", value)
    assert raised.value.field == field


def test_the_backend_name_alone_is_enough_on_a_choices_project(make_project, cast):
    prelabeler = create_prelabeler(
        project=make_project(), user=cast.users["manager"], backend="embedding_classifier"
    )
    assert prelabeler.settings == {
        "control": "",
        "max_length": 128,
        "classifier": "logistic_regression",
        "k": 15,
        "c": 10.0,
        "min_examples": 2,
        "threshold": 0.5,
    }
    with pytest.raises(ApplicationError) as raised:
        create_prelabeler(
            project=make_project(NER_CONFIG), user=cast.users["manager"], backend="embedding_classifier"
        )
    assert raised.value.field == "backend"


@pytest.mark.django_db(transaction=True)
def test_a_job_fits_on_the_projects_labels_and_prelabels_the_rest(make_project, cast, rows):
    """The runner of training/services/prelabel_jobs.py with the real model: the first job fits on the
    submitted answers, then writes a prediction and an uncertainty for each unlabeled task. Committed
    rows: the runner's heartbeat thread renews the job's lease on a connection of its own while the
    model fits, and must see the job."""
    from annotation.models import JobState, Prediction
    from annotation.services.annotations import annotation_create
    from tests.conftest import choice
    from training.services.prelabel_jobs import prelabel_job_create, prelabel_job_run

    project = make_project(tasks=[{"text": row["text"]} for row in rows])
    tasks = list(project.tasks.order_by("inner_id"))
    for task, row in zip(tasks[:TRAIN_ROWS], rows[:TRAIN_ROWS], strict=True):
        annotation_create(task=task, user=cast.users["annotator"], result=choice(row["label"]))
    prelabeler = create_prelabeler(
        project=project, user=cast.users["manager"], backend="embedding_classifier"
    )

    job = prelabel_job_create(prelabeler=prelabeler, user=cast.users["manager"])
    prelabel_job_run(job_id=job.pk)
    job.refresh_from_db()
    prelabeler.refresh_from_db()
    assert job.state == JobState.COMPLETED, job.error
    assert job.model_version == prelabeler.model_version == "embedding_classifier:1"
    assert prelabeler.fitted_examples == TRAIN_ROWS
    assert prelabeler.fit_info is not None and prelabeler.fit_info["classes"] == sorted(LABELS)
    assert (job.predictions_written, job.dropped, job.errors) == (len(rows) - TRAIN_ROWS, 0, 0)

    unlabeled = {task.pk: row for task, row in zip(tasks[TRAIN_ROWS:], rows[TRAIN_ROWS:], strict=True)}
    predictions = Prediction.objects.filter(prelabeler=prelabeler)
    assert sorted(prediction.task_id for prediction in predictions) == sorted(unlabeled)
    correct = sum(
        prediction.result[0]["value"]["choices"] == [unlabeled[prediction.task_id]["label"]]
        for prediction in predictions
    )
    assert correct >= 24, correct
    for task in project.tasks.all():
        assert (task.uncertainty is not None) == (task.pk in unlabeled)
