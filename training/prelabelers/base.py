"""The one small interface every pre-labeling backend implements.

A backend is built for one pre-labeler (its project's label config and its checked settings). It
predicts a batch of tasks into Label Studio results; a learning backend first fits on the project's
labeled examples, and each fit is a new model version. Backends do no database work: the job
runner (training/services/prelabel_jobs.py) reads tasks, calls ``predict`` per batch and writes the
predictions, so a backend is tested on plain data.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from rest_framework import serializers

if TYPE_CHECKING:
    from annotation.label_config import LabelSchema
    from training.models import Prelabeler


@dataclass(frozen=True)
class TaskInput:
    id: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Example:
    """A labeled task: its data and the result the project trusts (accepted, or submitted without review)."""

    task_id: int
    data: dict[str, Any]
    result: list[dict[str, Any]]


@dataclass
class PredictionOut:
    task_id: int
    result: list[dict[str, Any]]  # Label Studio results, each with from_name, to_name, type, value (and id)
    score: float | None = None  # the model's confidence in its answer, 0 to 1
    # How unsure the model is (entropy or 1 - margin of its scores), higher is less certain; None for
    # a backend without scores. Uncertainty sampling orders /next by it.
    uncertainty: float | None = None


@dataclass
class Dropped:
    """A task the backend answered with something that does not fit the label config (counted, not written)."""

    task_id: int
    reason: str


@dataclass
class FitResult:
    model_version: str
    examples: int
    info: dict[str, Any] = field(default_factory=dict)  # classes, held-out accuracy…


class BackendUnfit(Exception):
    """The backend cannot serve this project or these settings; ``field`` names what is wrong."""

    def __init__(self, message: str, *, field: str = "settings"):
        super().__init__(message)
        self.message = message
        self.field = field


class Backend(ABC):
    name: ClassVar[str]
    learns: ClassVar[bool] = False  # fits on labeled examples before predicting
    batch_size: ClassVar[int] = 64  # tasks per predict call, sized for the model
    # Checks and fills the defaults of the pre-labeler's "settings"; documented in the OpenAPI schema.
    settings_serializer: ClassVar[type[serializers.Serializer]]
    # Settings that are written but never shown (a password, an API key): API output leaves them out
    # and says whether each is set instead (``public_settings``); a change that omits one keeps it.
    secret_settings: ClassVar[tuple[str, ...]] = ()

    def __init__(self, prelabeler: "Prelabeler", schema: "LabelSchema"):
        self.prelabeler = prelabeler
        self.schema = schema
        self.settings: dict[str, Any] = prelabeler.settings

    @classmethod
    def public_settings(cls, settings: dict[str, Any]) -> dict[str, Any]:
        """The settings as API output shows them: each secret replaced by ``<name>_is_set``."""
        shown = {key: value for key, value in settings.items() if key not in cls.secret_settings}
        for key in cls.secret_settings:
            shown[f"{key}_is_set"] = bool(settings.get(key))
        return shown

    @property
    def model_dir(self) -> Path:
        """Where this pre-labeler keeps fitted models (safetensors, JSON or npz: never a pickle)."""
        return Path(settings.DATA_DIR) / "models" / "prelabelers" / str(self.prelabeler.pk)

    def check(self) -> None:
        """Raise BackendUnfit when the project's config lacks what this backend needs (no network calls)."""
        return None

    def fit(self, examples: list[Example]) -> FitResult:
        """Learn from labeled examples and keep the model under model_dir; only when ``learns``."""
        raise NotImplementedError

    @abstractmethod
    def model_version(self) -> str:
        """The version its predictions carry now (for a learning backend, its latest fit's)."""

    @abstractmethod
    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        """One answer per task, in any order; raise to fail the batch (the runner retries it)."""
