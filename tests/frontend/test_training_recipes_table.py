"""The Training tab's table of what each recipe reads (frontend/src/pages/training_recipes.json: the
dataset format and the base-model kinds) is the recipes' own: the launch form offers only the dataset
versions and base models a recipe can train on, so a recipe changed on the server must change it too."""

import json
from pathlib import Path

from training.recipes import RECIPES

TABLE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "pages" / "training_recipes.json"


def test_the_launch_forms_recipe_table_matches_the_recipes():
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    assert set(table) == set(RECIPES)
    for name, recipe in RECIPES.items():
        assert table[name] == {
            "dataset_format": recipe.dataset_format,
            "model_kinds": list(recipe.model_kinds),
        }, name
