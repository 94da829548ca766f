"""Label Studio's JSON_MIN export: one flat record per annotation, task data fields beside the labels."""

import json
from collections.abc import Iterable, Iterator

from exports.formats.flatten import flatten_result, loads
from exports.formats.rows import ExportContext, ExportTask

CONTENT_TYPE = "application/json"
EXTENSION = "json"


def records(chunks: Iterable[list[ExportTask]]) -> Iterator[dict]:
    for chunk in chunks:
        for task in chunk:
            data = loads(task.data_json)
            if not task.annotations:
                yield {"id": task.id, **data}
                continue
            for annotation in task.annotations:
                yield {
                    "id": task.id,
                    **data,
                    **flatten_result(loads(annotation.result_json)),
                    "annotator": annotation.completed_by,
                    "annotation_id": annotation.id,
                    "created_at": annotation.created_at,
                    "updated_at": annotation.updated_at,
                    "lead_time": annotation.lead_time,
                }


def write(chunks: Iterable[list[ExportTask]], context: ExportContext) -> Iterator[str]:
    yield "["
    first = True
    for record in records(chunks):
        text = json.dumps(record, ensure_ascii=False)
        yield text if first else "," + text
        first = False
    yield "]"
