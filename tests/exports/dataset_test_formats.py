"""A minimal JSONL dataset format for tests, registered as "test_jsonl" (the real "jsonl" writer is its own
module). Imported by the dataset tests, and by the worker of the integration tests (``--include``), so that
both sides know it. ``test_images_only`` fits only projects whose config reads an ``image`` field."""

import json
import time
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
        stream.write(
            json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        )


TEST_JSONL = register(
    DatasetFormat(
        name="test_jsonl",
        extension="jsonl",
        content_type="application/x-ndjson",
        per_split=True,
        fits=lambda context: None,
        write=_write,
    )
)
TEST_WHOLE = register(
    DatasetFormat(
        name="test_whole",
        extension="jsonl",
        content_type="application/x-ndjson",
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

# Slow enough that a worker can be killed while it writes (tests/integration/test_dataset_worker.py).
SLOW_SECONDS_PER_ITEM = 0.02


def _write_slowly(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    def slowed() -> Iterable[DatasetItem]:
        for item in items:
            time.sleep(SLOW_SECONDS_PER_ITEM)
            yield item

    _write(slowed(), context, stream)


TEST_SLOW = register(
    DatasetFormat(
        name="test_slow",
        extension="jsonl",
        content_type="application/x-ndjson",
        per_split=True,
        fits=lambda context: None,
        write=_write_slowly,
    )
)
