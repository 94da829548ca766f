"""Dataset formats written by label_studio_sdk.converter: CONLL2003, COCO, YOLO, YOLO_OBB and VOC, named as the
export endpoint's exportType names them. Each split is converted on its own (exports/converter.py); a folder
format comes as a tar with sorted entries and fixed times, and the converter's run time in COCO's and YOLO's
notes is pinned, so the same items give the same bytes.
"""

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from exports import converter
from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.datasets import DatasetFormat, register


def item_task(item: DatasetItem) -> dict:
    """A dataset item as the Label Studio task the converter reads: the recipe's chosen result as one
    annotation, or (``result: "all"``) each annotation behind the item, in order."""
    if item.result:
        chosen = item.annotations[0] if item.annotations else None
        annotations = [
            {
                "id": chosen.id if chosen else None,
                "completed_by": chosen.completed_by if chosen else None,
                "result": item.result,
                "was_cancelled": False,
            }
        ]
    else:
        annotations = [
            {"id": a.id, "completed_by": a.completed_by, "result": a.result, "was_cancelled": False}
            for a in item.annotations
        ]
    return {"id": item.task_id, "data": item.data, "annotations": annotations, "predictions": []}


def _tasks(items: Iterable[DatasetItem]) -> Iterator[dict]:
    for item in items:
        yield item_task(item)


def _fits(name: str):
    def fits(context: DatasetContext) -> str | None:
        return converter.misfit_reason(context.label_config, name)

    return fits


def _write(name: str):
    def write(items: Iterable[DatasetItem], context: DatasetContext, out: BinaryIO) -> None:
        converter.convert_to_stream(
            label_config=context.label_config, export_type=name, tasks=_tasks(items), out=out
        )

    return write


for _fmt in converter.CONVERTER_FORMATS.values():
    register(
        DatasetFormat(
            name=_fmt.name,
            extension="conll" if _fmt.single_file == "result.conll" else "tar",
            content_type="text/plain" if _fmt.single_file == "result.conll" else "application/x-tar",
            per_split=True,
            fits=_fits(_fmt.name),
            write=_write(_fmt.name),
        )
    )
