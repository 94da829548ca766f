"""Token classification rows (NER): ``{"id", "tokens", "ner_tags", "offsets"}`` with BIO tags.

The first Labels control that points at a Text object gives the spans. The text is split into tokens
(``shape_tokens``: words and marks, one token per CJK character, or the project's tokenizer), each kept
with its ``[start, end)`` offsets in code points (as results store spans), so a prediction maps
back onto the text. A token takes the
tag of the span it overlaps: ``B-X`` for the first token of the span, ``I-X`` for the rest. Where spans
overlap, the one that starts first (the longer at equal starts) keeps its tokens; a nested span cannot
be written in BIO. Tags are written as names; ``token_classification_tag_names`` gives the
``ClassLabel`` names in a fixed order (O, then B-X and I-X for each label in the config's order).
"""

import bisect
from collections.abc import Iterable
from typing import BinaryIO

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import shape_rows, shape_tokens
from exports.formats.shape_rows import ConfigControl, ConfigObject, ConfigTags

NAME = "token_classification"


def _labels_on_text(tags: ConfigTags) -> tuple[ConfigControl, ConfigObject] | None:
    for control in tags.controls_of("labels"):
        for obj in tags.targets(control):
            # HyperText spans are offsets into the page's DOM, not into one string: only Text qualifies.
            if obj.tag == "text":
                return control, obj
    return None


def token_classification_tag_names(context: DatasetContext) -> list[str]:
    """``datasets.ClassLabel(names=...)`` for ``ner_tags``: O, then B-X, I-X per label in config order."""
    found = _labels_on_text(shape_rows.config_tags(context))
    names = ["O"]
    for label in found[0].labels if found else ():
        names += [f"B-{label}", f"I-{label}"]
    return names


def fits(context: DatasetContext) -> str | None:
    if _labels_on_text(shape_rows.config_tags(context)) is None:
        return _("Token classification needs a Labels control on a Text object; this config has none.")
    return shape_tokens.tokenizer_problem(context.tokenizer)


def _spans(result: list, control: str) -> list[tuple[int, int, str]]:
    spans = []
    for region in shape_rows.regions_of(result, control):
        value = region["value"]
        start, end, labels = value.get("start"), value.get("end"), value.get("labels")
        if type(start) is int and type(end) is int and end > start and isinstance(labels, list) and labels:
            spans.append((start, end, str(labels[0])))
    # The first span to start wins, the longer of two that start together, then the label's name.
    spans.sort(key=lambda span: (span[0], -span[1], span[2]))
    return spans


def bio_tags(tokens: list[shape_tokens.Token], spans: list[tuple[int, int, str]]) -> list[str]:
    """One BIO tag per token; ``spans`` sorted as ``_spans`` sorts them."""
    tags = ["O"] * len(tokens)
    # Tokens are in text order and do not overlap, so their ends ascend: the first token a span touches
    # is found by bisection, which keeps a long document with many spans linear.
    ends = [t_end for _token, _start, t_end in tokens]
    for start, end, label in spans:
        inside = []
        index = bisect.bisect_right(ends, start)
        while index < len(tokens) and tokens[index][1] < end:
            inside.append(index)
            index += 1
        if not inside or any(tags[index] != "O" for index in inside):
            continue
        tags[inside[0]] = f"B-{label}"
        for index in inside[1:]:
            tags[index] = f"I-{label}"
    return tags


def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    found = _labels_on_text(shape_rows.config_tags(context))
    if found is None:
        return
    control, obj = found

    def build(item: DatasetItem, result: list) -> Iterable[dict]:
        text = shape_rows.object_text(obj, item.data)
        tokens = shape_tokens.tokens(text, context.tokenizer)
        yield {
            "id": str(item.task_id),
            "tokens": [token for token, _start, _end in tokens],
            "ner_tags": bio_tags(tokens, _spans(result, control.name)),
            "offsets": [[start, end] for _token, start, end in tokens],
        }

    shape_rows.write_jsonl(shape_rows.rows_for_results(items, build), stream)


FORMAT = shape_rows.register_shape(name=NAME, fits=fits, write=write)
