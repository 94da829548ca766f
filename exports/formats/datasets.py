"""The formats a dataset version can be written in, by the name a recipe's ``formats`` uses.

A dataset format turns the items of one split (or of every split, for formats that hold them all in
one file) into bytes. The same items in the same order always give the same bytes: a version built
twice from the same recipe and data has the same SHA-256. A folder format (a Hugging Face ``datasets``
folder, COCO with its images list…) writes one tar archive with sorted entries and fixed times.
"""

import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from exports.datasets.items import DatasetContext, DatasetItem


@dataclass(frozen=True)
class PartsWriter:
    """How a format is written by several processes at once, each over a part of the items in order:
    ``write_part`` writes one part's items to a file of its own, ``join`` then writes the format's file
    from those part files, in order. The joined bytes must be those that ``write`` gives for all the
    items at once (tests/exports/test_dataset_parts.py checks every format that has one)."""

    write_part: Callable[[Iterable[DatasetItem], DatasetContext, BinaryIO], None]
    join: Callable[[Sequence[Path], DatasetContext, BinaryIO], None]
    # Run once before the processes are forked: a library imported here is shared by them all (pyarrow
    # is 90 MB a process, imported by each on its own).
    preload: Callable[[], None] | None = None


def parts_concatenated(paths: Sequence[Path], context: DatasetContext, stream: BinaryIO) -> None:
    for path in paths:
        with open(path, "rb") as part:
            shutil.copyfileobj(part, stream, 1024 * 1024)


def concatenated(write: Callable[[Iterable[DatasetItem], DatasetContext, BinaryIO], None]) -> PartsWriter:
    """For a format whose bytes for items A then B are its bytes for A, then its bytes for B (a line per
    item and no header)."""
    return PartsWriter(write_part=write, join=parts_concatenated)


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
    # Set when a build may write the format in parts, in several processes (see PartsWriter).
    parts: PartsWriter | None = None


DATASET_FORMATS: dict[str, DatasetFormat] = {}


def register(fmt: DatasetFormat) -> DatasetFormat:
    DATASET_FORMATS[fmt.name] = fmt
    return fmt
