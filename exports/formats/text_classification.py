"""Text classification rows: ``{"text", "label"}``, or ``{"text", "labels"}`` for a multi-label Choices.

The first Choices control that points at a Text or HyperText object gives the label; its options in the
config's order are the names of the ``ClassLabel`` feature (``text_classification_label_names``). A
result with no pick for that control gives no row.
"""

from collections.abc import Iterable
from typing import BinaryIO

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import shape_rows
from exports.formats.shape_rows import ConfigControl, ConfigObject, ConfigTags

NAME = "text_classification"


def _choices_on_text(tags: ConfigTags) -> tuple[ConfigControl, ConfigObject] | None:
    for control in tags.controls_of("choices"):
        for obj in tags.targets(control):
            if obj.tag in shape_rows.TEXT_TAGS:
                return control, obj
    return None


def text_classification_label_names(context: DatasetContext) -> list[str]:
    """The class names in the config's order: ``datasets.ClassLabel(names=...)`` for the label column."""
    found = _choices_on_text(shape_rows.config_tags(context))
    return list(found[0].labels) if found else []


def fits(context: DatasetContext) -> str | None:
    if _choices_on_text(shape_rows.config_tags(context)) is None:
        return _(
            "Text classification needs a Choices control on a Text or HyperText object; this config has none."
        )
    return None


def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    found = _choices_on_text(shape_rows.config_tags(context))
    if found is None:
        return
    control, obj = found
    multiple = shape_rows.is_multiple_choice(control)

    def build(item: DatasetItem, result: list) -> Iterable[dict]:
        picked = shape_rows.chosen_options(result, control.name)
        if not picked:
            return
        text = shape_rows.object_text(obj, item.data)
        if not multiple:
            yield {"text": text, "label": picked[0]}
            return
        # In the config's order, not the order of the clicks, so equal label sets give equal rows.
        order = {label: index for index, label in enumerate(control.labels)}
        yield {
            "text": text,
            "labels": sorted(picked, key=lambda label: (order.get(label, len(order)), label)),
        }

    shape_rows.write_jsonl(shape_rows.rows_for_results(items, build), stream)


FORMAT = shape_rows.register_shape(name=NAME, fits=fits, write=write)
