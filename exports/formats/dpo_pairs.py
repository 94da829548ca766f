"""Preference pairs for DPO: ``{"prompt", "chosen", "rejected"}``, one row per better-worse pair.

Pairs come from three kinds of result:
- Pairwise (``value.selected`` "left" or "right"): the selected side's text is chosen, the other rejected;
  left is the control's first ``toName``, right its second.
- Ranker over a List (``value.ranker``): a ranking ``{"<control>": [ids, best first]}`` gives every
  earlier item over every later one; buckets ``{"<bucket>": [ids]}`` give every item of a bucket over
  every item of the buckets after it in the config (items left unplaced, as in ``"_"``, give none).
- Rating controls, one per candidate answer (two or more on different Text objects): every answer over
  every answer rated lower; equal ratings give no pair.

The prompt is what the config shows besides the candidates (``shape_rows.prompt_messages``). When the
config has a dialogue object (Paragraphs or Chat) the rows are in chat form, as TRL reads them: the
prompt a list of messages, chosen and rejected each a one-message assistant list. Otherwise all three
are strings, the prompt's texts joined by a blank line. The form follows the config, never the task,
so every row of a file has the same columns.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats import shape_rows
from exports.formats.shape_rows import ConfigControl, ConfigTags

NAME = "dpo_pairs"
_SIDES = ("left", "right")


@dataclass(frozen=True)
class _Preferences:
    pairwise: list[ConfigControl]
    rankers: list[ConfigControl]
    ratings: list[ConfigControl]  # empty unless two or more rate different text objects
    candidates: frozenset[str]  # the objects that hold answers, left out of the prompt
    chat: bool

    @property
    def any(self) -> bool:
        return bool(self.pairwise or self.rankers or self.ratings)


def _preferences(tags: ConfigTags) -> _Preferences:
    pairwise = [
        control
        for control in tags.controls_of("pairwise")
        if len(tags.targets(control)) == 2
        and all(obj.tag in shape_rows.TEXT_TAGS for obj in tags.targets(control))
    ]
    rankers = [
        control
        for control in tags.controls_of("ranker")
        if any(obj.tag == "list" for obj in tags.targets(control))
    ]
    ratings = [
        control
        for control in tags.controls_of("rating")
        if len(tags.targets(control)) == 1 and tags.targets(control)[0].tag in shape_rows.TEXT_TAGS
    ]
    if len({control.to_names[0] for control in ratings}) < 2:
        ratings = []
    candidates = frozenset(
        obj.name for control in [*pairwise, *rankers, *ratings] for obj in tags.targets(control)
    )
    chat = any(
        obj.tag in shape_rows.DIALOGUE_TAGS and obj.name not in candidates for obj in tags.objects.values()
    )
    return _Preferences(pairwise=pairwise, rankers=rankers, ratings=ratings, candidates=candidates, chat=chat)


def _has_prompt(tags: ConfigTags, preferences: _Preferences) -> bool:
    return any(
        obj.tag in shape_rows.TEXT_TAGS | shape_rows.DIALOGUE_TAGS and obj.name not in preferences.candidates
        for obj in tags.objects.values()
    )


def fits(context: DatasetContext) -> str | None:
    tags = shape_rows.config_tags(context)
    preferences = _preferences(tags)
    if not preferences.any:
        return _(
            "Preference pairs need a Pairwise control on two Text objects, a Ranker on a List, or Rating "
            "controls on two or more Text objects; this config has none."
        )
    if not _has_prompt(tags, preferences):
        return _(
            "Preference pairs need a prompt: a Text, HyperText, Paragraphs or Chat object besides the answers compared."
        )
    return None


def _pairwise_pairs(
    tags: ConfigTags, control: ConfigControl, result: list, data: dict
) -> list[tuple[str, str]]:
    left, right = (shape_rows.object_text(obj, data) for obj in tags.targets(control))
    pairs = []
    for region in shape_rows.regions_of(result, control.name):
        selected = region["value"].get("selected")
        if selected in _SIDES:
            pairs.append((left, right) if selected == "left" else (right, left))
    return pairs


def _ranker_pairs(
    tags: ConfigTags, control: ConfigControl, result: list, data: dict
) -> list[tuple[str, str]]:
    texts: dict[str, str] = {}
    for obj in tags.targets(control):
        listed = data.get(obj.variable)
        for item in listed if isinstance(listed, list) else ():
            if isinstance(item, dict) and item.get("id") is not None:
                texts.setdefault(str(item["id"]), shape_rows.list_item_text(item))
    list_names = {control.name, *control.to_names}
    pairs: list[tuple[str, str]] = []
    for region in shape_rows.regions_of(result, control.name):
        ranked = region["value"].get("ranker")
        if not isinstance(ranked, dict):
            continue
        # One ranked list (keyed by the control or its List), best first; else buckets, best bucket first.
        ordered = next(
            (ids for key, ids in ranked.items() if key in list_names and isinstance(ids, list)), None
        )
        if ordered is not None:
            tiers = [[item_id] for item_id in ordered]
        else:
            tiers = [ranked.get(bucket) or [] for bucket in control.buckets]
        ranks = [[texts[str(item_id)] for item_id in tier if str(item_id) in texts] for tier in tiers]
        for better, group in enumerate(ranks):
            for worse_group in ranks[better + 1 :]:
                pairs.extend((chosen, rejected) for chosen in group for rejected in worse_group)
    return pairs


def _rating_pairs(
    tags: ConfigTags, ratings: list[ConfigControl], result: list, data: dict
) -> list[tuple[str, str]]:
    rated: list[tuple[float, str]] = []
    for control in ratings:
        for region in shape_rows.regions_of(result, control.name)[:1]:
            value = region["value"].get("rating")
            if isinstance(value, int | float) and not isinstance(value, bool):
                rated.append((value, shape_rows.object_text(tags.targets(control)[0], data)))
    pairs = []
    for index, (score, text) in enumerate(rated):
        for other_score, other_text in rated[index + 1 :]:
            if score > other_score:
                pairs.append((text, other_text))
            elif other_score > score:
                pairs.append((other_text, text))
    return pairs


def preference_pairs(
    tags: ConfigTags, preferences: _Preferences, result: list, data: dict
) -> list[tuple[str, str]]:
    """(chosen, rejected) texts in a result, in the config's order of controls, each pair once."""
    pairs: list[tuple[str, str]] = []
    for control in preferences.pairwise:
        pairs += _pairwise_pairs(tags, control, result, data)
    for control in preferences.rankers:
        pairs += _ranker_pairs(tags, control, result, data)
    if preferences.ratings:
        pairs += _rating_pairs(tags, preferences.ratings, result, data)
    # A pair of two equal texts teaches nothing.
    return [pair for pair in dict.fromkeys(pairs) if pair[0] != pair[1]]


def write(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    tags = shape_rows.config_tags(context)
    preferences = _preferences(tags)
    if not preferences.any or not _has_prompt(tags, preferences):
        return

    def build(item: DatasetItem, result: list) -> Iterable[dict]:
        pairs = preference_pairs(tags, preferences, result, item.data)
        if not pairs:
            return
        messages = shape_rows.prompt_messages(tags, item.data, leave_out=preferences.candidates)
        # A pair without a prompt is no preference over answers to anything, and TRL reads a chat
        # prompt's last turn.
        if not messages:
            return
        for chosen, rejected in pairs:
            if preferences.chat:
                yield {
                    "prompt": messages,
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": rejected}],
                }
            else:
                prompt = "\n\n".join(message["content"] for message in messages)
                yield {"prompt": prompt, "chosen": chosen, "rejected": rejected}

    shape_rows.write_jsonl(shape_rows.rows_for_results(items, build), stream)


FORMAT = shape_rows.register_shape(name=NAME, fits=fits, write=write)
