"""Checks of single prediction fields, shared by every path that writes predictions (API, imports).
The rules themselves live in tessera.validation."""

from django.utils.translation import gettext as _

from tessera import validation
from tessera.errors import ApplicationError

MODEL_VERSION_MAX_CHARS = 200


def clean_model_version(value, *, field: str) -> str:
    """A model version: text of at most 200 characters without NUL or lone surrogates; None is ""."""
    value = value or ""
    if not isinstance(value, str) or len(value) > MODEL_VERSION_MAX_CHARS:
        raise ApplicationError(
            _("must be a string of at most %(limit)s characters.") % {"limit": MODEL_VERSION_MAX_CHARS},
            field=field,
        )
    return validation.check_text(value, field=field)


def clean_score(value, *, field: str) -> float | None:
    """A prediction's score: None, or a number from 0 to 1 (true/false are not numbers here)."""
    return validation.score(value, field=field)
