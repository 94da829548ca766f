"""Recipe checks: defaults filled in, and every bad input a 400 naming its field."""

import pytest

from annotation.task_filters import Limits
from exports.datasets.items import DatasetContext
from exports.datasets.recipes import recipe_parse
from tessera.errors import ApplicationError
from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats

TEXT = DatasetContext(project_id=1, controls={}, data_variables=("text",))
LIMITS = Limits(max_items=50, max_ids=10_000)


def parse(body: dict) -> dict:
    return recipe_parse(body, context=TEXT, limits=LIMITS)


def refused(body) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        recipe_parse(body, context=TEXT, limits=LIMITS)
    assert caught.value.status == 400
    return caught.value


def test_only_formats_is_needed_and_the_rest_has_defaults():
    assert parse({"formats": ["test_jsonl"]}) == {
        "name": "", "tasks": None, "review": None, "min_agreement": None, "gold": "include",
        "result": "latest", "splits": {"train": 1.0}, "seed": 0, "stratify": False, "group_by": None,
        "dedup": {"exact": False, "near_threshold": None}, "redact": {"kinds": [], "patterns": []},
        "formats": ["test_jsonl"],
    }  # fmt: skip


def test_a_full_recipe_is_normalised():
    recipe = parse(
        {
            "name": " v1 ", "tasks": {"filters": {"conjunction": "and", "items": []}}, "review": ["accepted"],
            "min_agreement": 0.5, "gold": "exclude", "result": "consensus",
            "splits": {"test": 0.1, "train": 0.8, "validation": 0.1}, "seed": 42, "stratify": True,
            "group_by": "doc", "dedup": {"exact": True, "near_threshold": 0.9}, "redact": ["phone", "email"],
            "formats": ["test_jsonl", "test_jsonl", "test_whole"],
        }
    )  # fmt: skip
    assert recipe["name"] == "v1"
    assert list(recipe["splits"]) == ["train", "validation", "test"]
    assert recipe["redact"] == {"kinds": ["email", "phone"], "patterns": []}
    assert recipe["formats"] == ["test_jsonl", "test_whole"]
    assert recipe["dedup"] == {"exact": True, "near_threshold": 0.9}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "formats"),
        ({"formats": []}, "formats"),
        ({"formats": ["nope"]}, "formats"),
        ({"formats": ["test_images_only"]}, "formats"),
        ({"formats": ["test_jsonl"], "splits": {"train": 0.8, "test": 0.1}}, "splits"),
        ({"formats": ["test_jsonl"], "splits": {"train": 0.9, "dev": 0.1}}, "splits"),
        ({"formats": ["test_jsonl"], "splits": {"train": 1.5, "test": -0.5}}, "splits.train"),
        ({"formats": ["test_jsonl"], "result": "best"}, "result"),
        ({"formats": ["test_jsonl"], "gold": "maybe"}, "gold"),
        ({"formats": ["test_jsonl"], "review": ["approved"]}, "review"),
        ({"formats": ["test_jsonl"], "min_agreement": 2}, "min_agreement"),
        ({"formats": ["test_jsonl"], "seed": -1}, "seed"),
        ({"formats": ["test_jsonl"], "seed": True}, "seed"),
        ({"formats": ["test_jsonl"], "stratify": "yes"}, "stratify"),
        ({"formats": ["test_jsonl"], "group_by": 3}, "group_by"),
        ({"formats": ["test_jsonl"], "dedup": {"near_threshold": 0}}, "dedup.near_threshold"),
        ({"formats": ["test_jsonl"], "dedup": {"fuzzy": True}}, "dedup"),
        ({"formats": ["test_jsonl"], "redact": "email"}, "redact"),
        ({"formats": ["test_jsonl"], "tasks": {"filters": {"conjunction": "xor", "items": []}}}, "tasks.filters.conjunction"),
        ({"formats": ["test_jsonl"], "tasks": [1, 2]}, "tasks"),
        ({"formats": ["test_jsonl"], "colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_field(body, field):
    assert refused(body).field == field


def test_an_unfit_format_says_why():
    error = refused({"formats": ["test_images_only"]})
    assert error.code == "format_unfit"
    assert "test_images_only" in error.message and "image" in error.message


def test_redact_takes_kinds_and_pattern_objects_in_one_list():
    recipe = parse({"formats": ["test_jsonl"], "redact": ["phone", {"pattern": "ID-[0-9]+"}, "email"]})
    assert recipe["redact"] == {"kinds": ["email", "phone"], "patterns": ["ID-[0-9]+"]}
    assert refused({"formats": ["test_jsonl"], "redact": [{"regex": "x"}]}).field == "redact"


def test_splits_within_the_tolerance_pass():
    recipe = parse(
        {"formats": ["test_jsonl"], "splits": {"train": 0.7, "validation": 0.2, "test": 0.1000000001}}
    )
    assert set(recipe["splits"]) == {"train", "validation", "test"}
