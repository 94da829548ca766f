"""Parse an import body into Label Studio task items. Plain Python, no ORM.

Formats: a JSON array (or one JSON object), JSON Lines, CSV and TSV. Each item
becomes a ``TaskItem``; a row that is not one gets an ApplicationError naming
the row and the reason. A column map (file column -> task data key, checked by
``clean_column_map``) renames the data keys as they are read: a CSV's header once,
each JSON task's data keys one by one.
"""

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

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


ColumnMap = Mapping[str, str]


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


def clean_column_map(value, *, variables: list[str]) -> dict[str, str] | None:
    """A column map as sent (decoded JSON), checked: an object of file column -> one of the config's
    ``$variables``, no two columns onto one variable. An empty map is None (nothing to rename)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApplicationError(
            _("column_map must be a JSON object of file column -> task data key."), field="column_map"
        )
    known = ", ".join(f"${name}" for name in variables) or "no variables"
    targets: dict[str, str] = {}
    for source, target in value.items():
        if not isinstance(target, str) or not source.strip() or not target:
            raise ApplicationError(
                _("column_map must map non-empty column names to task data keys (text)."), field="column_map"
            )
        if target not in variables:
            raise ApplicationError(
                _(
                    "column_map maps %(source)r to %(target)r, which the label config does not read (it reads %(known)s)."
                )
                % {"source": source, "target": target, "known": known},
                field="column_map",
                code="unknown_target",
            )
        if target in targets:
            raise ApplicationError(
                _("column_map maps both %(first)r and %(source)r to %(target)r.")
                % {"first": targets[target], "source": source, "target": target},
                field="column_map",
                code="duplicate_target",
            )
        targets[target] = source
    renames = {source.strip(): target for source, target in value.items() if source.strip() != target}
    return renames or None


def _renamed(data: dict, column_map: ColumnMap, *, index: int) -> dict:
    renamed = {}
    for key, item in data.items():
        name = column_map.get(key, key)
        if name in renamed:
            raise ApplicationError(
                _("column_map renames a field to %(name)r, which this task already has.") % {"name": name},
                field=f"tasks[{index}].data",
                code="column_conflict",
            )
        renamed[name] = item
    return renamed


def parse_items(
    raw: bytes, file_format: str, *, max_tasks: int, column_map: ColumnMap | None = None
) -> list[TaskItem]:
    if file_format not in FORMATS:
        raise ApplicationError(
            _("Unsupported import format %(file_format)r; use one of %(formats)s.")
            % {"file_format": file_format, "formats": ", ".join(FORMATS)},
            field="file",
            code="unsupported_format",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(
            _("The import is not UTF-8 text (bad byte at offset %(start)s).") % {"start": exc.start},
            field="file",
            code="bad_encoding",
        ) from exc
    if not text.strip():
        raise ApplicationError(_("The import is empty."), field="file", code="empty")
    with gc_paused():
        if file_format == "json":
            records = _json_records(text)
        elif file_format == "jsonl":
            records = _jsonl_records(text)
        else:
            records = _csv_records(
                text, delimiter="\t" if file_format == "tsv" else ",", column_map=column_map
            )
            column_map = None  # the header is renamed already
        if not records:
            raise ApplicationError(_("The import holds no tasks."), field="file", code="empty")
        if len(records) > max_tasks:
            raise ApplicationError(
                _("The import holds %(count)s tasks; the limit is %(max_tasks)s per import.")
                % {"count": len(records), "max_tasks": max_tasks},
                field="file",
                code="too_many_tasks",
            )
        return [to_task_item(record, index, column_map) for index, record in enumerate(records)]


def _json_records(text: str) -> list:
    try:
        document = strict_json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApplicationError(
            _("Malformed JSON at line %(lineno)s, column %(colno)s: %(msg)s.")
            % {"lineno": exc.lineno, "colno": exc.colno, "msg": exc.msg},
            field="file",
            code="parse_error",
        ) from exc
    except ValueError as exc:
        raise ApplicationError(
            _("Malformed JSON: %(exc)s.") % {"exc": exc}, field="file", code="parse_error"
        ) from exc
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return document
    raise ApplicationError(
        _("A JSON import must be an array of tasks or one task object."), field="file", code="parse_error"
    )


def _jsonl_records(text: str) -> list:
    # Lines end at \n, \r\n or \r only (universal newlines): str.splitlines() would also cut at
    # U+2028 and other separators that JSON allows raw inside a string.
    return list(_jsonl_stream_records(io.StringIO(text, newline=None), _Seen()))


def _csv_records(text: str, *, delimiter: str, column_map: ColumnMap | None) -> list:
    # The text is not blank (parse_items checked), so the reader finds a header row.
    return list(
        _csv_stream_records(
            io.StringIO(text, newline=""), _Seen(), delimiter=delimiter, column_map=column_map
        )
    )


def to_task_item(record, index: int, column_map: ColumnMap | None = None) -> TaskItem:
    """Label Studio's task shapes: ``{"data": {...}, "annotations", "predictions", "meta"}`` or a bare data object."""
    where = f"tasks[{index}]"
    if not isinstance(record, dict):
        raise ApplicationError(
            _("Each task must be a JSON object, got %(type_name)s.") % {"type_name": type(record).__name__},
            field=where,
        )
    if "data" not in record:
        return TaskItem(data=_renamed(record, column_map, index=index) if column_map else record)
    data = record["data"]
    if not isinstance(data, dict):
        raise ApplicationError(_("data must be a JSON object."), field=f"{where}.data")
    if column_map:
        data = _renamed(data, column_map, index=index)
    # null reads as empty; an empty value of the wrong type ([] for meta) is refused like a full one.
    meta = {} if record.get("meta") is None else record["meta"]
    annotations = [] if record.get("annotations") is None else record["annotations"]
    predictions = [] if record.get("predictions") is None else record["predictions"]
    for name, value in (("meta", meta), ("annotations", annotations), ("predictions", predictions)):
        expected = dict if name == "meta" else list
        if not isinstance(value, expected):
            raise ApplicationError(
                (
                    _("%(name)s must be a JSON object.")
                    if expected is dict
                    else _("%(name)s must be a JSON array.")
                )
                % {"name": name},
                field=f"{where}.{name}",
            )
    return TaskItem(data=data, meta=meta, annotations=annotations, predictions=predictions)


# Streaming: a background import reads its stored upload as a stream, so that the worker's memory
# depends on the size of a row, not of the file. The records and errors are the ones parse_items gives.
STREAM_READ_CHARS = 1 << 20


def iter_items(
    stream: BinaryIO, file_format: str, *, max_tasks: int, column_map: ColumnMap | None = None
) -> Iterator[TaskItem]:
    """Task items of an upload read from a binary stream, one at a time, in order."""
    if file_format not in FORMATS:
        raise ApplicationError(
            _("Unsupported import format %(file_format)r; use one of %(formats)s.")
            % {"file_format": file_format, "formats": ", ".join(FORMATS)},
            field="file",
            code="unsupported_format",
        )
    # newline="" hands CSV its line endings untouched, as csv.reader wants; JSON Lines and JSON
    # get universal newlines.
    text = io.TextIOWrapper(
        stream, encoding="utf-8-sig", newline="" if file_format in ("csv", "tsv") else None
    )
    seen = _Seen()
    if file_format == "json":
        records = _json_stream_records(text, seen)
    elif file_format == "jsonl":
        records = _jsonl_stream_records(text, seen)
    else:
        records = _csv_stream_records(
            text, seen, delimiter="\t" if file_format == "tsv" else ",", column_map=column_map
        )
        column_map = None  # the header is renamed already
    count = 0
    try:
        for record in records:
            if count == max_tasks:
                raise ApplicationError(
                    _(
                        "The import holds more than %(max_tasks)s tasks; the limit is %(max_tasks)s per import."
                    )
                    % {"max_tasks": max_tasks},
                    field="file",
                    code="too_many_tasks",
                )
            yield to_task_item(record, count, column_map)
            count += 1
    except UnicodeDecodeError as exc:
        # The wrapper decodes the chunk it last read, which ends at the stream's position.
        offset = max(stream.tell() - len(exc.object) + exc.start, 0)
        raise ApplicationError(
            _("The import is not UTF-8 text (bad byte near offset %(offset)s).") % {"offset": offset},
            field="file",
            code="bad_encoding",
        ) from exc
    finally:
        text.detach()
    if not seen.text:
        raise ApplicationError(_("The import is empty."), field="file", code="empty")
    if not count:
        raise ApplicationError(_("The import holds no tasks."), field="file", code="empty")


class _Seen:
    """Whether the stream held anything but white space: an empty upload and one with no tasks differ."""

    text = False


def _jsonl_stream_records(text: TextIO, seen: _Seen) -> Iterator:
    for line_number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        seen.text = True
        try:
            yield strict_json.loads(line)
        except json.JSONDecodeError as exc:
            raise ApplicationError(
                _("Malformed JSON on line %(line_number)s: %(msg)s.")
                % {"line_number": line_number, "msg": exc.msg},
                field=f"line {line_number}",
                code="parse_error",
            ) from exc
        except ValueError as exc:
            raise ApplicationError(
                _("Malformed JSON on line %(line_number)s: %(exc)s.")
                % {"line_number": line_number, "exc": exc},
                field=f"line {line_number}",
                code="parse_error",
            ) from exc


def _csv_stream_records(
    text: TextIO, seen: _Seen, *, delimiter: str, column_map: ColumnMap | None = None
) -> Iterator:
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise ApplicationError(_("The CSV has no header row."), field="file", code="parse_error") from exc
    seen.text = True
    header = [name.strip() for name in header]
    if not all(header) or len(set(header)) != len(header):
        raise ApplicationError(
            _("The CSV header must name every column once (empty or repeated column names found)."),
            field="file",
            code="parse_error",
        )
    if column_map:
        renamed = [column_map.get(name, name) for name in header]
        if len(set(renamed)) != len(renamed):
            taken = next(name for name in renamed if renamed.count(name) > 1)
            raise ApplicationError(
                _("column_map renames a column to %(taken)r, which the file already has as a column.")
                % {"taken": taken},
                field="column_map",
                code="column_conflict",
            )
        header = renamed
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                # Named by the file's line, as JSON Lines errors are, so that an editor finds it.
                raise ApplicationError(
                    ngettext(
                        "Line %(line)s has %(cells)s cell; the header has %(header)s.",
                        "Line %(line)s has %(cells)s cells; the header has %(header)s.",
                        len(row),
                    )
                    % {"line": reader.line_num, "cells": len(row), "header": len(header)},
                    field=f"line {reader.line_num}",
                    code="parse_error",
                )
            yield dict(zip(header, row, strict=True))
    except csv.Error as exc:
        raise ApplicationError(
            _("Malformed CSV at line %(line_num)s: %(exc)s.") % {"line_num": reader.line_num, "exc": exc},
            field="file",
            code="parse_error",
        ) from exc


class _JsonArrayReader:
    """Splits a JSON array read from a text stream into its elements, each decoded by strict_json.

    The buffer holds the element being read and what follows it in the last chunk; what was
    decoded is dropped, so memory is bounded by the largest element plus one chunk.
    """

    def __init__(self, text: TextIO):
        self.text = text
        self.buffer = ""
        self.position = 0
        self.eof = False
        # Lines and the column of the buffer's first character, for error messages about the file.
        self.line = 1
        self.column = 1

    def fill(self, at_least: int = STREAM_READ_CHARS) -> bool:
        if self.eof:
            return False
        consumed = self.buffer[: self.position]
        newlines = consumed.count("\n")
        if newlines:
            self.line += newlines
            self.column = len(consumed) - consumed.rfind("\n")
        else:
            self.column += len(consumed)
        chunk = self.text.read(at_least)
        self.buffer = self.buffer[self.position :] + chunk
        self.position = 0
        if not chunk:
            self.eof = True
        return bool(chunk)

    def skip_space(self) -> str:
        """The next character that is not white space ("" at the end), left in place."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in " \t\r\n":
                self.position += 1
            if self.position < len(self.buffer):
                return self.buffer[self.position]
            if not self.fill():
                return ""

    def where(self, position: int) -> tuple[int, int]:
        before = self.buffer[:position]
        newlines = before.count("\n")
        if newlines:
            return self.line + newlines, position - before.rfind("\n")
        return self.line, self.column + position

    def error(self, message: str, position: int) -> ApplicationError:
        line, column = self.where(position)
        return ApplicationError(
            _("Malformed JSON at line %(line)s, column %(column)s: %(message)s.")
            % {"line": line, "column": column, "message": message},
            field="file",
            code="parse_error",
        )

    def element(self):
        while True:
            try:
                value, end = strict_json.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as exc:
                # Most often the element goes on in the next chunk: read more (doubling, so that a
                # huge element is not scanned again chunk after chunk) and try again. Reading moves
                # the buffer, so an error is only reported from a try made after the end was read.
                if not self.eof:
                    self.fill(max(STREAM_READ_CHARS, len(self.buffer)))
                    continue
                raise self.error(exc.msg, exc.pos) from exc
            except ValueError as exc:
                raise ApplicationError(
                    _("Malformed JSON: %(exc)s.") % {"exc": exc}, field="file", code="parse_error"
                ) from exc
            # A number cut by the chunk's end decodes as a shorter number: only trust an element
            # that ends before the buffer does, or one read to the end of the stream.
            if end == len(self.buffer) and not self.eof:
                self.fill()
                continue
            self.position = end
            return value


def _json_stream_records(text: TextIO, seen: _Seen) -> Iterator:
    reader = _JsonArrayReader(text)
    first = reader.skip_space()
    if not first:
        return
    seen.text = True
    if first == "{":
        # One task object: read as a whole, as parse_items does.
        rest = reader.buffer[reader.position :] + text.read()
        yield _json_records(rest)[0]
        return
    if first != "[":
        raise ApplicationError(
            _("A JSON import must be an array of tasks or one task object."), field="file", code="parse_error"
        )
    reader.position += 1
    if reader.skip_space() == "]":
        reader.position += 1
    else:
        while True:
            if not reader.skip_space():
                raise reader.error("Expecting value", reader.position)
            yield reader.element()
            separator = reader.skip_space()
            reader.position += 1
            if separator == "]":
                break
            if separator != ",":
                raise reader.error("Expecting ',' delimiter", reader.position - 1)
    if reader.skip_space():
        raise reader.error("Extra data", reader.position)
