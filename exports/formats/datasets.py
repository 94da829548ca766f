"""The formats a dataset version can be written in, by the name a recipe's ``formats`` uses.

A dataset format turns the items of one split (or of every split, for formats that hold them all in
one file) into bytes. The same items in the same order always give the same bytes: a version built
twice from the same recipe and data has the same SHA-256. A folder format (a Hugging Face ``datasets``
folder, COCO with its images list…) writes one tar archive with sorted entries and fixed times.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO

from exports.datasets.items import DatasetContext, DatasetItem


@dataclass(frozen=True)
class DatasetFormat:
    name: str  # as a recipe's "formats" names it: "jsonl", "parquet", "hf", "text_classification", …
    extension: str  # of the downloaded file: "jsonl", "parquet", "tar", "conll", …
    content_type: str
    # True: one file per split. False: one file for the whole version (the split is a field of each row).
    per_split: bool
    # None when the format fits the project's config, else the reason it does not (a 400 names it).
    fits: Callable[[DatasetContext], str | None]
    # Writes the items (those of one split when per_split) to the binary stream.
    write: Callable[[Iterable[DatasetItem], DatasetContext, BinaryIO], None]


DATASET_FORMATS: dict[str, DatasetFormat] = {}


def register(fmt: DatasetFormat) -> DatasetFormat:
    DATASET_FORMATS[fmt.name] = fmt
    return fmt
