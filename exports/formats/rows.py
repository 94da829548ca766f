"""The rows an export writer receives. JSON columns stay as the database's text until a writer needs values."""

from dataclasses import dataclass, field


@dataclass(slots=True)
class ExportAnnotation:
    id: int
    task_id: int
    completed_by: int | None
    result_json: str
    was_cancelled: bool
    ground_truth: bool
    lead_time: float | None
    parent_prediction: int | None
    created_at: str
    updated_at: str
    review_state: str = "submitted"


@dataclass(slots=True)
class ExportPrediction:
    id: int
    task_id: int
    model_version: str
    result_json: str
    score: float | None
    created_at: str


@dataclass(slots=True)
class ExportTask:
    id: int
    inner_id: int
    data_json: str
    meta_json: str
    total_annotations: int
    cancelled_annotations: int
    total_predictions: int
    created_at: str
    updated_at: str
    annotations: list[ExportAnnotation] = field(default_factory=list)
    predictions: list[ExportPrediction] = field(default_factory=list)
    # The stored consensus once the task has its overlap (annotation/services/quality.py), as JSON text
    # of {"result", "tie", "agreement"}; "null" before.
    consensus_json: str = "null"


@dataclass(frozen=True)
class ExportContext:
    project_id: int
    data_variables: tuple[str, ...]
    control_names: tuple[str, ...]
    delimiter: str = ","
    # Every top-level data key of the exported tasks, for table formats; empty means data_variables.
    data_keys: tuple[str, ...] = ()
