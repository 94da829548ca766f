"""The recipes' registry and their parameter checks: defaults that pass, every refusal naming the
parameter it is about, and each recipe's dataset shape and base-model kinds."""

import pytest

from tessera.errors import ApplicationError
from training.recipes import RECIPES, recipe_get
from training.recipes.base import LoraParams, params_dict

DATASET_SHAPES = {
    "text_classification",
    "token_classification",
    "sft_chat",
    "dpo_pairs",
    "pretraining_corpus",
}


def refusal(recipe: str, params: object) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        RECIPES[recipe].check_params(params)
    return caught.value


def test_the_six_recipes_are_registered_with_their_shapes_and_kinds():
    assert list(RECIPES) == [
        "text_classification",
        "token_classification",
        "sft",
        "dpo",
        "continued_pretraining",
        "pretraining_from_scratch",
    ]
    assert {recipe.dataset_format for recipe in RECIPES.values()} == DATASET_SHAPES
    assert RECIPES["text_classification"].model_kinds == ("encoder",)
    assert RECIPES["sft"].model_kinds == ("causal_lm",)
    assert set(RECIPES["continued_pretraining"].model_kinds) == {"encoder", "causal_lm"}
    assert not RECIPES["pretraining_from_scratch"].needs_base_model


@pytest.mark.parametrize("name", list(RECIPES))
def test_the_defaults_pass_their_own_checks(name):
    params = RECIPES[name].check_params(None)
    assert RECIPES[name].check_params(params_dict(params)) == params


def test_an_unknown_recipe_is_a_400_naming_recipe():
    with pytest.raises(ApplicationError) as caught:
        recipe_get("rlhf")
    assert caught.value.field == "recipe"


@pytest.mark.parametrize(
    "params, field",
    [
        ("fast", "params"),
        ({"epochs": 0}, "params.epochs"),
        ({"epochs": 101}, "params.epochs"),
        ({"batch_size": 8.5}, "params.batch_size"),
        ({"batch_size": True}, "params.batch_size"),
        ({"learning_rate": "1e-4"}, "params.learning_rate"),
        ({"max_steps": 0}, "params.max_steps"),
        ({"seed": None}, "params.seed"),
        ({"packing": "yes"}, "params.packing"),
        ({"lora": {"r": 0}}, "params.lora.r"),
        ({"lora": {"dropout": 1.5}}, "params.lora.dropout"),
        ({"lora": {"rank": 8}}, "params.lora.rank"),
        ({"lora": []}, "params.lora"),
        ({"optimizer": "sgd"}, "params.optimizer"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(params, field):
    assert refusal("sft", params).field == field


def test_optional_parameters_take_null_and_lora_fills_its_defaults():
    params = RECIPES["sft"].check_params({"max_steps": None, "lora": {"r": 8}, "learning_rate": 1})
    assert params.max_steps is None
    assert params.lora == LoraParams(r=8, alpha=32, dropout=0.05)
    assert params.learning_rate == 1.0 and isinstance(params.learning_rate, float)


def test_a_recipe_refuses_what_another_takes():
    assert refusal("text_classification", {"beta": 0.1}).field == "params.beta"
    assert RECIPES["dpo"].check_params({"beta": 0.5}).beta == 0.5


def test_from_scratch_needs_heads_that_divide_the_width():
    assert (
        refusal("pretraining_from_scratch", {"hidden_size": 100, "num_heads": 3}).field == "params.num_heads"
    )
    assert (
        RECIPES["pretraining_from_scratch"].check_params({"hidden_size": 96, "num_heads": 3}).num_heads == 3
    )
