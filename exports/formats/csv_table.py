"""CSV and TSV exports: the JSON_MIN records as a table, shaped as Label Studio's converter shapes it.

Columns are sorted by name: every data field of the exported tasks (``context.data_keys``), ``id``,
every control, and the annotation fields. A data field named like a control is written as
``_data_<name>`` beside the control's column. Lists and objects are JSON in their cell.

Two deliberate differences from Label Studio's converter, both about spreadsheets opening the file:
- Text cells, header cells too, that begin with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  get a leading ``'`` (OWASP's advice against formula injection), so a spreadsheet shows the text
  instead of running it. Numbers (``lead_time``, ids, numeric data) are written as they are.
- A cell holding a carriage return or a line feed is always quoted. Python's ``csv`` quotes only for
  the line terminator's own characters, so a bare CR was written unquoted, and readers that end a
  row at a CR split the row there.
"""

import json
from collections.abc import Iterable, Iterator

from exports.formats.json_min import annotation_fields, rows
from exports.formats.rows import ExportContext, ExportTask

CONTENT_TYPE = "text/csv"
EXTENSION = "csv"
ROWS_PER_CHUNK = 1000


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Text that a spreadsheet would read as a formula, as text it shows: with a leading quote."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def _line(cells: list[str], delimiter: str) -> str:
    """One row as ``csv``'s minimal quoting writes it, but quoting every cell with a CR or LF in it."""
    quoted = []
    for cell in cells:
        if delimiter in cell or '"' in cell or "\n" in cell or "\r" in cell:
            cell = '"' + cell.replace('"', '""') + '"'
        quoted.append(cell)
    return delimiter.join(quoted) + "\n"


def write(chunks: Iterable[list[ExportTask]], context: ExportContext) -> Iterator[str]:
    controls = set(context.control_names)
    data_keys = context.data_keys or context.data_variables
    data_columns = {key: f"_data_{key}" if key in controls else key for key in data_keys}
    fixed = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time")
    columns = sorted({*data_columns.values(), *controls, *fixed})
    delimiter = context.delimiter
    lines = [_line([neutralise(column) for column in columns], delimiter)]
    for count, (task_id, data, flat, annotation) in enumerate(rows(chunks), start=1):
        record = {data_columns.get(key, key): value for key, value in data.items()}
        record.update(flat)
        record.update(annotation_fields(annotation), id=task_id)
        lines.append(_line([_cell(record.get(column)) for column in columns], delimiter))
        if count % ROWS_PER_CHUNK == 0:
            yield "".join(lines)
            lines = []
    yield "".join(lines)
