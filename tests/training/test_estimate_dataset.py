"""The estimate from a dataset version: real versions built from small projects, their train split
tokenized with the base model's tokenizer (counted again here, row by row, to check the sum), sampled and
extrapolated past the sample size, from scratch by bytes; and the version checks the launch shares
(dataset_version_for_recipe): another organization's, not completed, built in the wrong format."""

import json

import pytest
from transformers import AutoTokenizer

from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_create, dataset_version_run
from exports.datasets import storage
from exports.models import DatasetVersion
from tessera.errors import ApplicationError
from tessera.models import Membership
from tests.conftest import choice, post_json
from tests.training.runner_support import CHAT_TEXTS, tiny_llama
from training.encoders import encoder_path
from training.recipes import RECIPES
from training.services.base_models import base_model_create, base_model_defaults_register
from training.services.dataset_inputs import dataset_version_for_recipe
from training.services.dataset_tokens import BYTES_PER_TOKEN, sample_rows

pytestmark = pytest.mark.django_db

SPLITS = {"train": 0.6, "validation": 0.2, "test": 0.2}
CHAT_CONFIG = """<View>
  <Text name="prompt" value="$prompt"/>
  <TextArea name="answer" toName="prompt"/>
</View>"""
URL = "/api/training-jobs/estimate"


@pytest.fixture(autouse=True)
def datasets_dir(settings, tmp_path):
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"


@pytest.fixture
def minilm(cast):
    return base_model_defaults_register(organization=cast.org)


@pytest.fixture
def sentiment(make_project, cast):
    """20 labeled sentences of growing length, so that a cut at max_length and the sample both show."""
    project = make_project(
        tasks=[{"text": " ".join(["the market rose sharply today"] * (1 + i % 7))} for i in range(20)]
    )
    for index, task in enumerate(project.tasks.order_by("inner_id")):
        annotation_create(
            task=task, user=cast.users["annotator"], result=choice(("Positive", "Negative")[index % 2])
        )
    return project


def manager(cast) -> Membership:
    return Membership.objects.get(user=cast.users["manager"], organization=cast.org)


def build(project, cast, formats: list[str], *, run: bool = True) -> DatasetVersion:
    version = dataset_version_create(
        project=project,
        user=cast.users["manager"],
        body={"formats": formats, "splits": SPLITS, "seed": 1},
    )
    if run:
        dataset_version_run(version_id=version.pk)
        version.refresh_from_db()
    return version


def train_rows(version: DatasetVersion, format_name: str) -> list[dict]:
    entry = next(f for f in version.files if f["format"] == format_name and f["split"] == "train")
    return [json.loads(line) for line in storage.resolve(entry["path"]).read_text().splitlines()]


def estimate(api, **body):
    return post_json(api("manager"), URL, {"resources": {"gpu_type": "H100"}, **body})


def test_a_classifiers_tokens_are_its_train_rows_tokenized_by_minilm(api, cast, sentiment, minilm):
    version = build(sentiment, cast, ["text_classification"])
    response = estimate(
        api, recipe="text_classification", base_model=minilm.pk, dataset=version.pk, params={"epochs": 2}
    )
    assert response.status_code == 200, response.content
    result = response.json()
    tokenizer = AutoTokenizer.from_pretrained(encoder_path())
    rows = train_rows(version, "text_classification")
    expected = sum(len(tokenizer(row["text"])["input_ids"]) for row in rows)
    assert len(rows) == version.counts["splits"]["train"] == 12
    assert result["dataset_tokens"] == {
        "dataset": version.pk,
        "rows": 12,
        "sampled_rows": 12,
        "exact": True,
        "mean_tokens_per_row": pytest.approx(expected / 12),
        "tokens_per_epoch": expected,
        "counted_by": "tokenizer",
    }
    assert result["tokens_per_epoch"] == expected
    assert result["training_tokens"] == 2 * expected
    assert result["flops"] == pytest.approx(6 * minilm.parameters * 2 * expected)


def test_rows_are_cut_at_max_length(api, cast, sentiment, minilm):
    version = build(sentiment, cast, ["text_classification"])
    result = estimate(
        api, recipe="text_classification", base_model=minilm.pk, dataset=version.pk, params={"max_length": 8}
    ).json()
    tokenizer = AutoTokenizer.from_pretrained(encoder_path())
    rows = train_rows(version, "text_classification")
    assert any(len(tokenizer(row["text"])["input_ids"]) > 8 for row in rows)  # the cut matters
    expected = sum(min(len(tokenizer(row["text"])["input_ids"]), 8) for row in rows)
    assert result["dataset_tokens"]["tokens_per_epoch"] == expected


def test_past_the_sample_size_the_mean_is_extrapolated_to_the_versions_rows(
    api, cast, sentiment, minilm, settings
):
    settings.TESSERA_TRAINING_ESTIMATE_SAMPLE_ROWS = 5
    version = build(sentiment, cast, ["text_classification"])
    counted = estimate(api, recipe="text_classification", base_model=minilm.pk, dataset=version.pk).json()[
        "dataset_tokens"
    ]
    assert (counted["rows"], counted["sampled_rows"], counted["exact"]) == (12, 5, False)
    assert counted["tokens_per_epoch"] == round(counted["mean_tokens_per_row"] * 12)
    # The sample is spread over the file, not its first five rows: from the first row to its last fifth.
    path = dataset_version_for_recipe(manager(cast), version.pk, RECIPES["text_classification"])[1]["train"]
    sampled, whole = sample_rows(path, 5)
    rows = train_rows(version, "text_classification")
    assert not whole and sampled[0] == rows[0] and sampled[-1] in rows[9:]


def test_sft_counts_the_conversations_as_the_chat_template_renders_them(
    api, cast, make_project, tmp_path, settings
):
    settings.TESSERA_MODEL_ROOTS = [str(tmp_path)]
    folder = tiny_llama(tmp_path / "tiny-llama")
    llama = base_model_create(organization=cast.org, user=None, name="tiny-llama", path=str(folder))
    project = make_project(
        CHAT_CONFIG, tasks=[{"prompt": text.split("?")[0] + "?"} for text in CHAT_TEXTS * 2]
    )
    for task, text in zip(project.tasks.order_by("inner_id"), CHAT_TEXTS * 2, strict=True):
        answer = {"from_name": "answer", "to_name": "prompt", "type": "textarea", "value": {"text": [text]}}
        annotation_create(task=task, user=cast.users["annotator"], result=[answer])
    version = build(project, cast, ["sft_chat"])
    response = estimate(api, recipe="sft", base_model=llama.pk, dataset=version.pk, params={"max_length": 64})
    assert response.status_code == 200, response.content
    tokenizer = AutoTokenizer.from_pretrained(folder)
    rows = train_rows(version, "sft_chat")
    expected = sum(
        min(len(tokenizer(tokenizer.apply_chat_template(row["messages"], tokenize=False))["input_ids"]), 64)
        for row in rows
    )
    assert rows and response.json()["dataset_tokens"]["tokens_per_epoch"] == expected


def test_from_scratch_counts_utf8_bytes_over_four(api, cast, sentiment):
    version = build(sentiment, cast, ["pretraining_corpus"])
    response = estimate(api, recipe="pretraining_from_scratch", dataset=version.pk, params={"max_length": 16})
    assert response.status_code == 200, response.content
    counted = response.json()["dataset_tokens"]
    rows = train_rows(version, "pretraining_corpus")
    # Not cut at max_length: a causal run streams the texts into blocks.
    expected = sum(round(len(row["text"].encode()) / BYTES_PER_TOKEN) for row in rows)
    assert counted["counted_by"] == "bytes_per_token"
    assert counted["tokens_per_epoch"] == expected


def test_tokens_in_the_body_win_but_the_version_is_still_checked(api, cast, sentiment, minilm):
    version = build(sentiment, cast, ["pretraining_corpus"])
    response = estimate(
        api, recipe="text_classification", base_model=minilm.pk, dataset=version.pk, tokens=1000
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, "wrong_shape")
    right = build(sentiment, cast, ["text_classification"])
    result = estimate(api, recipe="text_classification", base_model=minilm.pk, dataset=right.pk, tokens=1000)
    assert result.json()["tokens_per_epoch"] == 1000 and result.json()["dataset_tokens"] is None


def test_the_shared_check_gives_the_recipes_file_of_every_split(cast, sentiment):
    version = build(sentiment, cast, ["text_classification", "pretraining_corpus"])
    found, files = dataset_version_for_recipe(manager(cast), version.pk, RECIPES["continued_pretraining"])
    assert found == version
    assert sorted(files) == ["test", "train", "validation"]
    assert all(path.name.startswith("pretraining_corpus-") and path.is_file() for path in files.values())


@pytest.mark.parametrize(
    "case, code",
    [
        ("wrong_shape", "wrong_shape"),
        ("not_ready", "not_ready"),
        ("theirs", "not_found"),
        ("gap", "not_found"),
    ],
)
def test_unusable_versions_are_a_400_naming_dataset(api, cast, sentiment, minilm, make_project, case, code):
    if case == "wrong_shape":
        dataset = build(sentiment, cast, ["pretraining_corpus"]).pk
    elif case == "not_ready":
        dataset = build(sentiment, cast, ["text_classification"], run=False).pk
    elif case == "theirs":
        theirs = make_project(org=cast.other_org, tasks=[{"text": "x"}])
        dataset = DatasetVersion.objects.create(
            organization=cast.other_org, project=theirs, name="theirs", recipe={}, state="completed"
        ).pk
    else:
        dataset = 999_999
    response = estimate(api, recipe="text_classification", base_model=minilm.pk, dataset=dataset)
    assert response.status_code == 400, response.content
    assert (response.json()["error"]["field"], response.json()["error"]["code"]) == ("dataset", code)
    with pytest.raises(ApplicationError) as raised:
        dataset_version_for_recipe(manager(cast), dataset, RECIPES["text_classification"])
    assert (raised.value.field, raised.value.code, raised.value.status) == ("dataset", code, 400)


def test_a_malformed_dataset_id_names_dataset(api, minilm):
    response = estimate(api, recipe="text_classification", base_model=minilm.pk, dataset="seven")
    assert (response.status_code, response.json()["error"]["field"]) == (400, "dataset")
