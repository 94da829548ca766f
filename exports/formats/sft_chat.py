"""Supervised fine-tuning rows in chat form: ``{"messages": [{"role", "content"}, …]}``.

The annotated answer of the first TextArea control is the assistant's last turn. What comes before it
is read from the config's objects in order (``shape_rows.prompt_messages``): a system prompt (an object
named ``system`` or ``system_prompt``), the turns of a dialogue (Paragraphs or Chat: a multi-turn
conversation), and each Text or HyperText as a user turn. A result without an answer gives no row.
"""

from collections.abc import Iterable
from typing import BinaryIO

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import shape_rows
from exports.formats.shape_rows import ConfigTags

NAME = "sft_chat"
PROMPT_TAGS = shape_rows.TEXT_TAGS | shape_rows.DIALOGUE_TAGS


def _has_prompt(tags: ConfigTags) -> bool:
    return any(
        obj.tag in PROMPT_TAGS and not shape_rows.is_system_object(obj) for obj in tags.objects.values()
    )


def fits(context: DatasetContext) -> str | None:
    tags = shape_rows.config_tags(context)
    if not tags.controls_of("textarea"):
        return _("SFT chat needs a TextArea control for the answer; this config has none.")
    if not _has_prompt(tags):
        return _(
            "SFT chat needs a Text, HyperText, Paragraphs or Chat object for the prompt; this config has none."
        )
    return None


def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    tags = shape_rows.config_tags(context)
    answers = tags.controls_of("textarea")
    if not answers or not _has_prompt(tags):
        return

    def build(item: DatasetItem, result: list) -> Iterable[dict]:
        answer = next(
            (text for control in answers if (text := shape_rows.textarea_text(result, control.name))), ""
        )
        if not answer:
            return
        messages = shape_rows.prompt_messages(tags, item.data)
        if not any(message["role"] == "user" for message in messages):
            return
        yield {"messages": [*messages, {"role": "assistant", "content": answer}]}

    shape_rows.write_jsonl(shape_rows.rows_for_results(items, build), stream)


FORMAT = shape_rows.register_shape(name=NAME, fits=fits, write=write)
