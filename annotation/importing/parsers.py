"""Parse an import body into Label Studio task items. Plain Python, no ORM.

Formats: a JSON array (or one JSON object), JSON Lines, CSV and TSV. Each item
becomes a ``TaskItem``; a row that is not one gets an ApplicationError naming
the row and the reason.
"""

import csv
import io
import json
from dataclasses import dataclass, field

from annotation.importing.gc_pause import gc_paused
from tessera import strict_json
from tessera.errors import ApplicationError

FORMATS = ("json", "jsonl", "csv", "tsv")
_CONTENT_TYPES = {
    "application/json": "json",
    "text/json": "json",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/jsonlines": "jsonl",
    "application/x-jsonlines": "jsonl",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
}
_EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}


@dataclass
class TaskItem:
    data: dict
    meta: dict = field(default_factory=dict)
    annotations: list = field(default_factory=list)
    predictions: list = field(default_factory=list)


def format_from_filename(name: str) -> str | None:
    lowered = name.lower()
    for extension, file_format in _EXTENSIONS.items():
        if lowered.endswith(extension):
            return file_format
    return None


def format_from_content_type(content_type: str) -> str | None:
    return _CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())


def parse_items(raw: bytes, file_format: str, *, max_tasks: int) -> list[TaskItem]:
    if file_format not in FORMATS:
        raise ApplicationError(
            f"Unsupported import format {file_format!r}; use one of {', '.join(FORMATS)}.",
            field="file",
            code="unsupported_format",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            f"The import is not UTF-8 text (bad byte at offset {exc.start}).",
            field="file",
            code="bad_encoding",
        ) from exc
    if not text.strip():
        raise ApplicationError("The import is empty.", field="file", code="empty")
    with gc_paused():
        if file_format == "json":
            records = _json_records(text)
        elif file_format == "jsonl":
            records = _jsonl_records(text)
        else:
            records = _csv_records(text, delimiter="\t" if file_format == "tsv" else ",")
        if not records:
            raise ApplicationError("The import holds no tasks.", field="file", code="empty")
        if len(records) > max_tasks:
            raise ApplicationError(
                f"The import holds {len(records)} tasks; the limit is {max_tasks} per import.",
                field="file",
                code="too_many_tasks",
            )
        return [to_task_item(record, index) for index, record in enumerate(records)]


def _json_records(text: str) -> list:
    try:
        document = strict_json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApplicationError(
            f"Malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
            field="file",
            code="parse_error",
        ) from exc
    except ValueError as exc:
        raise ApplicationError(f"Malformed JSON: {exc}.", field="file", code="parse_error") from exc
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return document
    raise ApplicationError(
        "A JSON import must be an array of tasks or one task object.", field="file", code="parse_error"
    )


def _jsonl_records(text: str) -> list:
    records = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(strict_json.loads(line))
        except json.JSONDecodeError as exc:
            raise ApplicationError(
                f"Malformed JSON on line {line_number}: {exc.msg}.",
                field=f"line {line_number}",
                code="parse_error",
            ) from exc
        except ValueError as exc:
            raise ApplicationError(
                f"Malformed JSON on line {line_number}: {exc}.",
                field=f"line {line_number}",
                code="parse_error",
            ) from exc
    return records


def _csv_records(text: str, *, delimiter: str) -> list:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise ApplicationError("The CSV has no header row.", field="file", code="parse_error") from exc
    header = [name.strip() for name in header]
    if not all(header) or len(set(header)) != len(header):
        raise ApplicationError(
            "The CSV header must name every column once (empty or repeated column names found).",
            field="file",
            code="parse_error",
        )
    records = []
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                # Named by the file's line, as JSON Lines errors are, so that an editor finds it.
                raise ApplicationError(
                    f"Line {reader.line_num} has {len(row)} cell{'s' if len(row) != 1 else ''}; "
                    f"the header has {len(header)}.",
                    field=f"line {reader.line_num}",
                    code="parse_error",
                )
            records.append(dict(zip(header, row, strict=True)))
    except csv.Error as exc:
        raise ApplicationError(
            f"Malformed CSV at line {reader.line_num}: {exc}.", field="file", code="parse_error"
        ) from exc
    return records


def to_task_item(record, index: int) -> TaskItem:
    """Label Studio's task shapes: ``{"data": {...}, "annotations", "predictions", "meta"}`` or a bare data object."""
    where = f"tasks[{index}]"
    if not isinstance(record, dict):
        raise ApplicationError(f"Each task must be a JSON object, got {type(record).__name__}.", field=where)
    if "data" not in record:
        return TaskItem(data=record)
    data = record["data"]
    if not isinstance(data, dict):
        raise ApplicationError("data must be a JSON object.", field=f"{where}.data")
    # null reads as empty; an empty value of the wrong type ([] for meta) is refused like a full one.
    meta = {} if record.get("meta") is None else record["meta"]
    annotations = [] if record.get("annotations") is None else record["annotations"]
    predictions = [] if record.get("predictions") is None else record["predictions"]
    for name, value in (("meta", meta), ("annotations", annotations), ("predictions", predictions)):
        expected = dict if name == "meta" else list
        if not isinstance(value, expected):
            raise ApplicationError(
                f"{name} must be a JSON {'object' if expected is dict else 'array'}.", field=f"{where}.{name}"
            )
    return TaskItem(data=data, meta=meta, annotations=annotations, predictions=predictions)
