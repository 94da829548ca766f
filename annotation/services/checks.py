"""Checks of single prediction fields, shared by every path that writes predictions (API, imports)."""

import math

from tessera.errors import ApplicationError

MODEL_VERSION_MAX_CHARS = 200


def clean_model_version(value, *, field: str) -> str:
    """A model version: text of at most 200 characters without NUL (PostgreSQL cannot store it); None is ""."""
    value = value or ""
    if not isinstance(value, str) or len(value) > MODEL_VERSION_MAX_CHARS:
        raise ApplicationError(f"must be a string of at most {MODEL_VERSION_MAX_CHARS} characters.", field=field)
    if "\x00" in value:
        raise ApplicationError("Text may not contain the NUL character (\\u0000).", field=field, code="nul_character")
    return value


def clean_score(value, *, field: str) -> float | None:
    """A prediction's score: None, or a number from 0 to 1 (true/false are not numbers here)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise ApplicationError("must be a number between 0 and 1.", field=field)
    return float(value)
