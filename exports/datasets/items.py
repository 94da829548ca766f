"""What a dataset version holds, one item per task, as the build pipeline hands it to each step.

The pipeline reads a project's tasks (the recipe's selection), picks the result each task contributes
(consensus, reviewed, latest or all annotations), assigns a split, then hands the items through the
curation steps (deduplication, redaction) and the format writers. None of those touches the database.
"""

from dataclasses import dataclass, field


@dataclass(slots=True)
class ItemAnnotation:
    """One annotation behind an item (for ``result: "all"``, every one; otherwise the chosen one)."""

    id: int
    completed_by: int | None
    result: list[dict]


@dataclass(frozen=True, slots=True)
class ItemJson:
    """An item's data, result and each annotation's result as canonical JSON (exports/formats/
    canonical_json.py), as a build encodes them once and its writers splice them."""

    data: bytes
    result: bytes
    # (id, completed_by, result JSON) per annotation, in order.
    annotations: tuple[tuple[int, int | None, bytes], ...]


@dataclass(slots=True)
class DatasetItem:
    task_id: int
    # The task's data as imported (after redaction, once that step ran).
    data: dict
    # The Label Studio result regions the recipe chose for this task: one annotation's, the consensus,
    # or, for ``result: "all"``, empty (writers read ``annotations``).
    result: list[dict]
    annotations: list[ItemAnnotation] = field(default_factory=list)
    split: str = "train"

    def known_json(self) -> ItemJson | None:
        """The item's canonical JSON when it is already at hand (an item read back from a build's spool),
        else None."""
        return None


@dataclass(frozen=True)
class DatasetContext:
    """What writers know of the project: its config's controls and objects (annotation.label_config)."""

    project_id: int
    # LabelSchema.summary(): {control name: {"type", "to_name", "inputs": [{"type", "value"}], "labels"}}
    controls: dict
    # The task data keys the config reads, in the config's order.
    data_variables: tuple[str, ...]
    # The config's XML, for writers that hand it to label_studio_sdk.converter.
    label_config: str = ""
    # A local folder holding the project's Hugging Face tokenizer, for the writers that split or count
    # tokens (token classification, the pre-training corpus); empty: words, marks and CJK characters.
    tokenizer: str = ""
