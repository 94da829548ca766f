"""Label Studio's export types as dataset formats: ``JSON``, ``JSON_MIN``, ``CSV`` and ``TSV``, one file per
split, written by the project export's own writers (json_full, json_min, csv_table) so that a dataset
file and a project export of the same tasks have the same shape, CSV safety included.

The writers read ``ExportTask`` rows; ``export_task`` adapts an item to one:
- a recipe that chose one annotation's result (``latest``, ``reviewed``) gives the task that annotation,
  its id and author, holding the item's result (the one the curation steps saw, redacted if they did);
- ``result: "all"`` (the item's own result empty) gives every annotation with its own result;
- a result that is not one annotation's (a consensus of several) is the task's ``consensus``, beside the
  annotations behind it, as the project export writes a stored consensus. JSON_MIN, CSV and TSV are
  one record per annotation in Label Studio's shape and have no place for it: they list the annotations.
An item has no times, review states, predictions or meta: ``created_at``, ``updated_at`` and
``review_state`` are empty strings and the others empty too, so that the bytes depend on the items alone.
"""

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import BinaryIO

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import csv_table, json_full, json_min
from exports.formats.canonical_json import canonical_json
from exports.formats.dataset_records import fits_any_config
from exports.formats.datasets import DatasetFormat, register
from exports.formats.rows import ExportAnnotation, ExportContext, ExportTask

TASKS_PER_CHUNK = 1000


def _annotation(task_id: int, annotation_id: int, completed_by: int | None, result: list) -> ExportAnnotation:
    return ExportAnnotation(
        id=annotation_id,
        task_id=task_id,
        completed_by=completed_by,
        result_json=canonical_json(result),
        was_cancelled=False,
        ground_truth=False,
        lead_time=None,
        parent_prediction=None,
        created_at="",
        updated_at="",
        # The item does not say how the annotation was reviewed (the recipe chose it, perhaps for its
        # review): empty rather than a state it may not have.
        review_state="",
    )


def export_task(item: DatasetItem) -> ExportTask:
    task_id = item.task_id
    consensus_json = "null"
    if item.result and len(item.annotations) == 1:
        only = item.annotations[0]
        annotations = [_annotation(task_id, only.id, only.completed_by, item.result)]
    else:
        annotations = [_annotation(task_id, a.id, a.completed_by, a.result) for a in item.annotations]
        if item.result:
            # No tie or agreement travels with an item: null says unknown rather than inventing one.
            consensus_json = f'{{"agreement":null,"result":{canonical_json(item.result)},"tie":null}}'
    return ExportTask(
        id=task_id,
        inner_id=task_id,
        data_json=canonical_json(item.data),
        meta_json="{}",
        total_annotations=len(annotations),
        cancelled_annotations=0,
        total_predictions=0,
        created_at="",
        updated_at="",
        annotations=annotations,
        consensus_json=consensus_json,
    )


def _chunks(items: Iterable[DatasetItem]) -> Iterator[list[ExportTask]]:
    chunk: list[ExportTask] = []
    for item in items:
        chunk.append(export_task(item))
        if len(chunk) == TASKS_PER_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _export_context(context: DatasetContext, *, delimiter: str = ",", data_keys=()) -> ExportContext:
    return ExportContext(
        project_id=context.project_id,
        data_variables=context.data_variables,
        control_names=tuple(context.controls),
        delimiter=delimiter,
        data_keys=tuple(data_keys),
    )


def _write_text(chunks: Iterable[str], stream: BinaryIO) -> None:
    for text in chunks:
        stream.write(text.encode())


def _document_writer(module: ModuleType):
    def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
        _write_text(module.write(_chunks(items), _export_context(context)), stream)

    return write


def _table_writer(delimiter: str):
    def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
        # A table names its columns (every data key of every item) before its first row, and items come
        # once, as a stream: they are spooled to a private temporary file while the keys are collected,
        # then read back, so that memory holds one item at a time, not the split.
        keys: set[str] = set()
        with tempfile.TemporaryFile(prefix="tessera-table-") as spool:
            for item in items:
                keys.update(item.data)
                pickle.dump(item, spool, protocol=pickle.HIGHEST_PROTOCOL)
            spool.seek(0)

            def spooled() -> Iterator[DatasetItem]:
                while True:
                    try:
                        # Only this function's own file, written just above, is unpickled.
                        yield pickle.load(spool)  # noqa: S301
                    except EOFError:
                        return

            table = _export_context(context, delimiter=delimiter, data_keys=sorted(keys))
            _write_text(csv_table.write(_chunks(spooled()), table), stream)

    return write


JSON = register(
    DatasetFormat("JSON", "json", "application/json", True, fits_any_config, _document_writer(json_full))
)
JSON_MIN = register(
    DatasetFormat("JSON_MIN", "json", "application/json", True, fits_any_config, _document_writer(json_min))
)
CSV = register(DatasetFormat("CSV", "csv", "text/csv", True, fits_any_config, _table_writer(",")))
TSV = register(
    DatasetFormat("TSV", "tsv", "text/tab-separated-values", True, fits_any_config, _table_writer("\t"))
)
