"""The ``jsonl`` dataset format: one JSON object per item, one file per split.

The schema is stable and documented in docs/ARCHITECTURE.md ("Dataset formats"); every line is

    {"annotations": [{"completed_by": int | null, "id": int, "result": [...]}, ...],
     "data": {...}, "result": [...], "split": "train", "task_id": int}

Keys are sorted at every depth, non-ASCII text is written as itself (UTF-8), separators are compact
and lines end with ``\\n``: the same items in the same order always give the same bytes.
"""

from collections.abc import Iterable
from typing import BinaryIO

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.canonical_json import canonical_json, canonical_json_bytes, item_json
from exports.formats.datasets import DatasetFormat, concatenated, register

# Lines are joined and written in batches: one write per line costs a call each on the stream.
LINES_PER_WRITE = 1000


def record(item: DatasetItem) -> dict:
    """The documented JSONL object of one item."""
    return {
        "task_id": item.task_id,
        "split": item.split,
        "data": item.data,
        "result": item.result,
        "annotations": [
            {"id": a.id, "completed_by": a.completed_by, "result": a.result} for a in item.annotations
        ],
    }


def _number(value) -> str:
    # str() of an int is its JSON; anything else (None, or a value the contract did not expect) goes
    # through the encoder so that the line stays valid JSON.
    return str(value) if type(value) is int else canonical_json(value)


def line(item: DatasetItem) -> str:
    """``canonical_json(record(item))``, spliced: an annotation whose result is the item's own (a recipe
    that chose one annotation) reuses the item's encoded result instead of encoding it twice, which is
    most of the cost of a line. The keys are written in their sorted order."""
    result = item.result
    result_json = canonical_json(result)
    annotations = ",".join(
        f'{{"completed_by":{_number(a.completed_by)},"id":{_number(a.id)},"result":'
        f"{result_json if a.result is result or a.result == result else canonical_json(a.result)}}}"
        for a in item.annotations
    )
    return (
        f'{{"annotations":[{annotations}],"data":{canonical_json(item.data)},"result":{result_json},'
        f'"split":{canonical_json(item.split)},"task_id":{_number(item.task_id)}}}'
    )


def _number_bytes(value) -> bytes:
    return b"%d" % value if type(value) is int else canonical_json_bytes(value)


def line_bytes(item: DatasetItem) -> bytes:
    """``line(item)`` as UTF-8, spliced from the item's canonical JSON (``item_json``: as the build's
    spool holds it, or encoded once here), built as bytes: a line built as text would be encoded once
    more."""
    encoded = item_json(item)
    annotations = b",".join(
        b'{"completed_by":%s,"id":%s,"result":%s}' % (_number_bytes(completed_by), _number_bytes(id_), result)
        for id_, completed_by, result in encoded.annotations
    )
    return b'{"annotations":[%s],"data":%s,"result":%s,"split":%s,"task_id":%s}' % (
        annotations,
        encoded.data,
        encoded.result,
        canonical_json_bytes(item.split),
        _number_bytes(item.task_id),
    )


def write_jsonl(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    lines: list[bytes] = []
    for item in items:
        lines.append(line_bytes(item))
        if len(lines) == LINES_PER_WRITE:
            lines.append(b"")  # the last line's newline
            stream.write(b"\n".join(lines))
            lines = []
    if lines:
        lines.append(b"")
        stream.write(b"\n".join(lines))


def fits_any_config(context: DatasetContext) -> str | None:
    """Generic formats hold the data and results as they are: every config fits."""
    return None


JSONL = register(
    DatasetFormat(
        name="jsonl",
        extension="jsonl",
        content_type="application/x-ndjson",
        per_split=True,
        fits=fits_any_config,
        write=write_jsonl,
        parts=concatenated(write_jsonl),
    )
)
