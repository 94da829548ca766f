"""CSV and TSV exports: the JSON_MIN records as a table; lists and objects become JSON in their cell."""

import csv
import io
import json
from collections.abc import Iterable, Iterator

from exports.formats.json_min import records
from exports.formats.rows import ExportContext, ExportTask

CONTENT_TYPE = "text/csv"
EXTENSION = "csv"
ROWS_PER_CHUNK = 1000


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write(chunks: Iterable[list[ExportTask]], context: ExportContext) -> Iterator[str]:
    columns = ["id", *context.data_variables, *context.control_names,
               "annotator", "annotation_id", "created_at", "updated_at", "lead_time"]  # fmt: skip
    columns = list(dict.fromkeys(columns))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=context.delimiter, lineterminator="\n")
    writer.writerow(columns)
    for count, record in enumerate(records(chunks), start=1):
        writer.writerow([_cell(record.get(column)) for column in columns])
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
