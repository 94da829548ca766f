"""Rubric scores: ``{"text", "scores": {criterion: value}}``, one criterion per Rating, Number or Choices.

Each such control pointing at a text-bearing object (Text, HyperText, Paragraphs, Chat) is a criterion,
named by the control: a Rating gives its stars, a Number its number, a Choices its pick (a list for
``choice="multiple"``). Every row holds every criterion, ``null`` where the result gives none, so the
columns are the same in every row and file. ``text`` is the text of the objects the criteria point at,
in the config's order, a blank line between them. A result with no score gives no row.
"""

from collections.abc import Iterable
from typing import BinaryIO

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import shape_rows
from exports.formats.shape_rows import ConfigControl, ConfigObject, ConfigTags

NAME = "rubric_scores"
_CRITERION_TAGS = ("rating", "number", "choices")
_SCORED_TAGS = shape_rows.TEXT_TAGS | shape_rows.DIALOGUE_TAGS


def _criteria(tags: ConfigTags) -> tuple[list[ConfigControl], list[ConfigObject]]:
    criteria = [
        control
        for control in tags.controls_of(*_CRITERION_TAGS)
        if any(obj.tag in _SCORED_TAGS for obj in tags.targets(control))
    ]
    scored = {name for control in criteria for name in control.to_names}
    return criteria, [obj for obj in tags.objects.values() if obj.name in scored and obj.tag in _SCORED_TAGS]


def fits(context: DatasetContext) -> str | None:
    if not _criteria(shape_rows.config_tags(context))[0]:
        return _(
            "Rubric scores need Rating, Number or Choices controls on a Text, HyperText, Paragraphs or Chat "
            "object; this config has none."
        )
    return None


def _score(control: ConfigControl, result: list) -> object:
    if control.tag == "choices":
        picked = shape_rows.chosen_options(result, control.name)
        if shape_rows.is_multiple_choice(control):
            return picked or None
        return picked[0] if picked else None
    for region in shape_rows.regions_of(result, control.name):
        value = region["value"].get(control.tag)  # value.rating, value.number
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return None


def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    criteria, scored = _criteria(shape_rows.config_tags(context))
    if not criteria:
        return

    def build(item: DatasetItem, result: list) -> Iterable[dict]:
        scores = {control.name: _score(control, result) for control in criteria}
        if all(score is None for score in scores.values()):
            return
        text = "\n\n".join(text for obj in scored if (text := shape_rows.object_text(obj, item.data)))
        yield {"text": text, "scores": scores}

    shape_rows.write_jsonl(shape_rows.rows_for_results(items, build), stream)


FORMAT = shape_rows.register_shape(name=NAME, fits=fits, write=write)
