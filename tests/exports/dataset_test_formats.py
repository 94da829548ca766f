"""A minimal JSONL dataset format for tests, registered as "test_jsonl" (the real "jsonl" writer is its own
module). Imported by the dataset tests, and by the worker of the integration tests (``--include``), so that
both sides know it. ``test_images_only`` fits only projects whose config reads an ``image`` field."""

import json
from collections.abc import Iterable
from typing import BinaryIO

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.datasets import DatasetFormat, register


def _write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    for item in items:
        record = {
            "task_id": item.task_id,
            "split": item.split,
            "data": item.data,
            "result": item.result,
            "annotation_ids": [a.id for a in item.annotations],
        }
        stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n")


TEST_JSONL = register(
    DatasetFormat(
        name="test_jsonl",
        extension="jsonl",
        content_type="application/jsonl",
        per_split=True,
        fits=lambda context: None,
        write=_write,
    )
)
TEST_WHOLE = register(
    DatasetFormat(
        name="test_whole",
        extension="jsonl",
        content_type="application/jsonl",
        per_split=False,
        fits=lambda context: None,
        write=_write,
    )
)
TEST_IMAGES_ONLY = register(
    DatasetFormat(
        name="test_images_only",
        extension="json",
        content_type="application/json",
        per_split=False,
        fits=lambda context: None if "image" in context.data_variables else "it needs an image field",
        write=_write,
    )
)
