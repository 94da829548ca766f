"""CSV and TSV exports: the JSON_MIN records as a table, shaped as Label Studio's converter shapes it.

Columns are sorted by name: every data field of the exported tasks (``context.data_keys``), ``id``,
every control, and the annotation fields. A data field named like a control is written as
``_data_<name>`` beside the control's column. Lists and objects are JSON in their cell.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator

from exports.formats.json_min import annotation_fields, rows
from exports.formats.rows import ExportContext, ExportTask

CONTENT_TYPE = "text/csv"
EXTENSION = "csv"
ROWS_PER_CHUNK = 1000


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def write(chunks: Iterable[list[ExportTask]], context: ExportContext) -> Iterator[str]:
    controls = set(context.control_names)
    data_keys = context.data_keys or context.data_variables
    data_columns = {key: f"_data_{key}" if key in controls else key for key in data_keys}
    fixed = ("id", "annotator", "annotation_id", "created_at", "updated_at", "lead_time")
    columns = sorted({*data_columns.values(), *controls, *fixed})
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=context.delimiter, lineterminator="\n")
    writer.writerow(columns)
    for count, (task_id, data, flat, annotation) in enumerate(rows(chunks), start=1):
        record = {data_columns.get(key, key): value for key, value in data.items()}
        record.update(flat)
        record.update(annotation_fields(annotation), id=task_id)
        writer.writerow([_cell(record.get(column)) for column in columns])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
