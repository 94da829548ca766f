"""Curation steps: what a recipe's ``dedup`` and ``redact`` do to the items between selection and writing.

A step reads the items as a stream and yields the ones it keeps (changed or not), counting in its
``StepReport`` what it removed or changed; the report is shown on the version and in its card. A step
never touches the database and keeps no more than a fixed-size fingerprint per item, so a build's memory
does not grow with the items' text. The same items in the same order give the same output.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from exports.datasets.items import DatasetContext, DatasetItem


@dataclass
class StepReport:
    name: str  # "dedup_exact", "dedup_near", "redact"
    removed: int = 0
    changed: int = 0
    # Step-specific counts, JSON-serialisable: {"email": 12, "phone": 3} for redaction, the threshold for
    # near-duplicates, and so on.
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "removed": self.removed, "changed": self.changed, "details": self.details}


# (items, context, report) -> the items kept. ``report`` is filled in as the stream is consumed.
CurationStep = Callable[[Iterable[DatasetItem], DatasetContext, StepReport], Iterator[DatasetItem]]
