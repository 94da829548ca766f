"""Training recipes, one module each, shaped alike: a parameter dataclass and a ``RECIPE``. Adding one means
copying one and naming it here (its training code goes in training/runner/<name>.py)."""

from django.utils.translation import gettext as _

from tessera.errors import ApplicationError
from training.recipes import (
    continued_pretraining,
    dpo,
    pretraining_from_scratch,
    sft,
    text_classification,
    token_classification,
)
from training.recipes.base import Recipe

RECIPES: dict[str, Recipe] = {
    module.RECIPE.name: module.RECIPE
    for module in (
        text_classification,
        token_classification,
        sft,
        dpo,
        continued_pretraining,
        pretraining_from_scratch,
    )
}


def recipe_get(name: object) -> Recipe:
    if not isinstance(name, str) or name not in RECIPES:
        raise ApplicationError(
            _("Unknown recipe: use one of %(names)s.") % {"names": ", ".join(RECIPES)}, field="recipe"
        )
    return RECIPES[name]
