"""A pre-training corpus: ``{"text", "tokens"}``, one plain-text document per task.

A document is the text of the task's text-bearing objects (Text, HyperText as its text, a dialogue's
turns one a line) and its TextArea answers, in the config's order, a blank line between them. Tasks
need no annotation: unlabeled text is corpus too. ``tokens`` counts the document's tokens with the
project's tokenizer when the context names one, else its words, marks and CJK characters
(``shape_tokens``), so a training run can budget by it. An empty document gives no row.
"""

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import shape_rows, shape_tokens

NAME = "pretraining_corpus"
_DOCUMENT_TAGS = shape_rows.TEXT_TAGS | shape_rows.DIALOGUE_TAGS


def fits(context: DatasetContext) -> str | None:
    tags = shape_rows.config_tags(context)
    if not any(obj.tag in _DOCUMENT_TAGS for obj in tags.objects.values()) and not tags.controls_of(
        "textarea"
    ):
        return _(
            "A pre-training corpus needs text: a Text, HyperText, Paragraphs or Chat object, or a TextArea; "
            "this config has none."
        )
    return shape_tokens.tokenizer_problem(context.tokenizer)


def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    tags = shape_rows.config_tags(context)
    documents = [obj for obj in tags.objects.values() if obj.tag in _DOCUMENT_TAGS]
    answers = tags.controls_of("textarea")

    def rows() -> Iterator[dict]:
        for item in items:
            parts = [shape_rows.object_text(obj, item.data) for obj in documents]
            # One document per task: the answers of every result it stands for, after its own text.
            for result in shape_rows.item_results(item):
                parts += [shape_rows.textarea_text(result, control.name) for control in answers]
            text = "\n\n".join(part for part in parts if part)
            if text:
                yield {"text": text, "tokens": shape_tokens.token_count(text, context.tokenizer)}

    shape_rows.write_jsonl(rows(), stream)


FORMAT = shape_rows.register_shape(name=NAME, fits=fits, write=write)
