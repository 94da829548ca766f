"""Label Studio's JSON_MIN export: one flat record per annotation, task data fields beside the labels.

Shaped as Label Studio's converter shapes it: skipped annotations are left out (and a task with
nothing but skips with them), a task's newest annotation comes first, the task's id wins over an
``id`` field in its data, and a task without annotations (``download_all_tasks``) is one record
with empty annotation fields.
"""

import json
from collections.abc import Iterable, Iterator

from exports.formats.flatten import flatten_result, loads
from exports.formats.rows import ExportAnnotation, ExportContext, ExportTask

CONTENT_TYPE = "application/json"
EXTENSION = "json"


def rows(chunks: Iterable[list[ExportTask]]) -> Iterator[tuple[int, dict, dict, ExportAnnotation | None]]:
    """(task id, task data, flattened result, annotation) per record, for JSON_MIN and CSV alike."""
    for chunk in chunks:
        for task in chunk:
            data = loads(task.data_json)
            if not task.annotations:
                yield task.id, data, {}, None
                continue
            submitted = [a for a in task.annotations if not a.was_cancelled]
            # sorted() is stable with reverse=True: equal times keep the order of ids.
            for annotation in sorted(submitted, key=lambda a: a.created_at, reverse=True):
                yield task.id, data, flatten_result(loads(annotation.result_json)), annotation


def annotation_fields(annotation: ExportAnnotation | None) -> dict:
    if annotation is None:
        return dict.fromkeys(("annotator", "annotation_id", "created_at", "updated_at", "lead_time"))
    return {
        "annotator": annotation.completed_by,
        "annotation_id": annotation.id,
        "created_at": annotation.created_at,
        "updated_at": annotation.updated_at,
        "lead_time": annotation.lead_time,
    }


def records(chunks: Iterable[list[ExportTask]]) -> Iterator[dict]:
    for task_id, data, flat, annotation in rows(chunks):
        yield {**data, "id": task_id, **flat, **annotation_fields(annotation)}


def write(chunks: Iterable[list[ExportTask]], context: ExportContext) -> Iterator[str]:
    yield "["
    first = True
    for record in records(chunks):
        text = json.dumps(record, ensure_ascii=False)
        yield text if first else "," + text
        first = False
    yield "]"
