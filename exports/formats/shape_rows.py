"""What the training-shape writers share: the config's objects and controls, the text a task shows, the
regions of a result, dialogues as chat messages, and JSONL output.

Plain Python, no ORM. The shapes read ``DatasetContext.controls`` (``LabelSchema.summary()``) for the
controls, and the config's XML for what the summary does not hold: objects no control points at (a
prompt shown beside the answer box, a system prompt, a dialogue), ``choice="multiple"``, a Paragraphs
tag's ``nameKey``/``textKey`` and a Ranker's buckets. The XML was checked when the project saved it.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from typing import BinaryIO

from lxml import etree

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.datasets import DatasetFormat, register

CONTENT_TYPE = "application/jsonl"
EXTENSION = "jsonl"

# Objects whose task value is a string of text (HyperText: HTML, read as its text).
TEXT_TAGS = frozenset({"text", "hypertext"})
# Objects whose task value is a list of turns.
DIALOGUE_TAGS = frozenset({"paragraphs", "chat"})
OBJECT_TAGS = frozenset(
    {"text", "hypertext", "paragraphs", "chat", "list", "image", "audio", "video", "table"}
)
OBJECT_TAGS |= {"timeseries", "pdf", "audioplus"}
# An object named so (or reading a data field so named) holds the system prompt of a chat.
SYSTEM_NAMES = frozenset({"system", "system_prompt"})
# Speaker names of a dialogue that name a chat role; any other speaker is mapped by turn (speakers_roles).
_ROLE_NAMES = {
    "system": "system",
    "user": "user",
    "human": "user",
    "customer": "user",
    "assistant": "assistant",
    "bot": "assistant",
    "ai": "assistant",
    "agent": "assistant",
    "gpt": "assistant",
    "model": "assistant",
}


@dataclass(frozen=True)
class ConfigObject:
    name: str
    tag: str  # lower case: text, hypertext, paragraphs, …
    variable: str  # the task data key, without "$"
    attributes: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ConfigControl:
    name: str
    tag: str  # lower case: choices, labels, textarea, rating, …
    to_names: tuple[str, ...]
    labels: tuple[str, ...]
    attributes: dict = field(default_factory=dict, compare=False)
    buckets: tuple[str, ...] = ()  # a Ranker's Bucket children, in the config's order


@dataclass(frozen=True)
class ConfigTags:
    objects: dict[str, ConfigObject]  # in the config's order
    controls: dict[str, ConfigControl]  # in the summary's (the config's) order

    def controls_of(self, *tags: str) -> list[ConfigControl]:
        return [control for control in self.controls.values() if control.tag in tags]

    def targets(self, control: ConfigControl) -> list[ConfigObject]:
        return [self.objects[name] for name in control.to_names if name in self.objects]


@lru_cache(maxsize=64)
def _xml_tags(
    label_config: str,
) -> tuple[dict[str, ConfigObject], dict[str, dict], dict[str, tuple[str, ...]]]:
    if not label_config.strip():
        return {}, {}, {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(label_config.encode(), parser)
    objects: dict[str, ConfigObject] = {}
    attributes: dict[str, dict] = {}
    buckets: dict[str, tuple[str, ...]] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        attrib = {str(key): str(value) for key, value in element.attrib.items()}
        name = attrib.get("name")
        if not name:
            continue
        tag = element.tag.lower()
        value = attrib.get("value", "")
        if tag in OBJECT_TAGS and value.startswith("$") and len(value) > 1:
            objects[name] = ConfigObject(name=name, tag=tag, variable=value[1:], attributes=attrib)
        attributes[name] = attrib
        if tag == "ranker":
            buckets[name] = tuple(
                child.get("name", "")
                for child in element.iter()
                if isinstance(child.tag, str) and child.tag.lower() == "bucket" and child.get("name")
            )
    return objects, attributes, buckets


def config_tags(context: DatasetContext) -> ConfigTags:
    """The config's objects and controls; from the summary alone when the context carries no XML."""
    objects, attributes, buckets = _xml_tags(context.label_config)
    objects = dict(objects)
    controls: dict[str, ConfigControl] = {}
    for name, spec in context.controls.items():
        to_names = tuple(spec.get("to_name") or ())
        for target, source in zip(to_names, spec.get("inputs") or (), strict=False):
            if target not in objects and str(source.get("value", "")):
                objects[target] = ConfigObject(
                    name=target,
                    tag=str(source.get("type", "")).lower(),
                    variable=str(source["value"]).lstrip("$"),
                )
        controls[name] = ConfigControl(
            name=name,
            tag=str(spec.get("type", "")).lower(),
            to_names=to_names,
            labels=tuple(spec.get("labels") or ()),
            attributes=attributes.get(name, {}),
            buckets=buckets.get(name, ()),
        )
    return ConfigTags(objects=objects, controls=controls)


def is_multiple_choice(control: ConfigControl) -> bool:
    return control.attributes.get("choice", "single").lower() == "multiple"


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(markup: str) -> str:
    reader = _TextOfHtml()
    reader.feed(markup)
    reader.close()
    return "".join(reader.parts)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def object_text(obj: ConfigObject, data: dict) -> str:
    """The text an object shows for a task: its string, HTML's text, or a dialogue's turns one a line."""
    value = data.get(obj.variable)
    if obj.tag == "hypertext":
        return html_text(_as_text(value))
    if obj.tag in DIALOGUE_TAGS:
        return "\n".join(message["content"] for message in dialogue_messages(obj, data))
    if obj.tag == "list":
        return "\n".join(list_item_text(item) for item in value) if isinstance(value, list) else ""
    return _as_text(value)


def speakers_roles(speakers: Iterable[str]) -> dict[str, str]:
    """The chat role of each speaker of a dialogue, in order of first turn.

    Speakers named for a role (user, assistant, bot, system…) take it. Any other speaker is the user
    if no speaker so far is, else the assistant: a support log between "Customer" and "Agent" or a
    chat between "Aiko" and "Helper" reads as user, then assistant, as chat templates expect.
    """
    roles: dict[str, str] = {}
    for speaker in speakers:
        if speaker in roles:
            continue
        named = _ROLE_NAMES.get(speaker.strip().lower())
        if named is None:
            named = "assistant" if "user" in roles.values() else "user"
        roles[speaker] = named
    return roles


def dialogue_messages(obj: ConfigObject, data: dict) -> list[dict]:
    """A dialogue object's turns as chat messages ({"role", "content"}), empty turns left out.

    Paragraphs hold ``{nameKey: speaker, textKey: text}`` per turn (``author`` and ``text`` unless the
    tag says otherwise); Chat holds ``{"role", "content"}``.
    """
    turns = data.get(obj.variable)
    if not isinstance(turns, list):
        return []
    if obj.tag == "chat":
        name_key, text_key = "role", "content"
    else:
        name_key = obj.attributes.get("nameKey", "author")
        text_key = obj.attributes.get("textKey", "text")
    pairs = [
        (_as_text(turn.get(name_key)), _as_text(turn.get(text_key)))
        for turn in turns
        if isinstance(turn, dict) and _as_text(turn.get(text_key))
    ]
    roles = speakers_roles(speaker for speaker, _text in pairs)
    return [{"role": roles[speaker], "content": text} for speaker, text in pairs]


def list_item_text(item: object) -> str:
    """A List item's text (``{"id", "title", "body"}``): its body, else its title."""
    if isinstance(item, dict):
        return _as_text(item.get("body") or item.get("title") or "")
    return _as_text(item)


def is_system_object(obj: ConfigObject) -> bool:
    return obj.name.lower() in SYSTEM_NAMES or obj.variable.lower() in SYSTEM_NAMES


def prompt_messages(tags: ConfigTags, data: dict, *, leave_out: Iterable[str] = ()) -> list[dict]:
    """The chat before the answer: the system prompt, then every dialogue and text object in the config's
    order (a dialogue's turns, a text as one user turn), empty ones and ``leave_out`` objects skipped."""
    skipped = set(leave_out)
    system: list[dict] = []
    messages: list[dict] = []
    for obj in tags.objects.values():
        if obj.name in skipped:
            continue
        if obj.tag in DIALOGUE_TAGS:
            messages.extend(dialogue_messages(obj, data))
        elif obj.tag in TEXT_TAGS:
            text = object_text(obj, data)
            if text:
                (system if is_system_object(obj) else messages).append(
                    {"role": "system" if is_system_object(obj) else "user", "content": text}
                )
    return system[:1] + messages


def item_results(item: DatasetItem) -> list[list[dict]]:
    """The results an item stands for: the one the recipe chose, else (``result: "all"``) each annotation's.

    Each gives its own row, so that with every annotation kept each annotator's answer is a training row.
    """
    if item.result:
        return [item.result]
    return [annotation.result for annotation in item.annotations if annotation.result]


def regions_of(result: list, control: str) -> list[dict]:
    """The regions of ``control`` in a result, those with a value object only (relations have none)."""
    return [
        region
        for region in result
        if isinstance(region, dict)
        and region.get("from_name") == control
        and isinstance(region.get("value"), dict)
    ]


def chosen_options(result: list, control: str, key: str = "choices") -> list[str]:
    """The options picked under ``value[key]`` by a control's regions, first pick first, without repeats."""
    picked: list[str] = []
    for region in regions_of(result, control):
        options = region["value"].get(key)
        if isinstance(options, list):
            picked.extend(option for option in options if isinstance(option, str) and option not in picked)
    return picked


def textarea_text(result: list, control: str) -> str:
    """A TextArea's answer: its lines (``value.text``), one a line, across its regions."""
    lines: list[str] = []
    for region in regions_of(result, control):
        text = region["value"].get("text")
        if isinstance(text, str):
            lines.append(text)
        elif isinstance(text, list):
            lines.extend(line for line in text if isinstance(line, str))
    return "\n".join(line for line in lines if line)


def write_jsonl(rows: Iterable[dict], stream: BinaryIO) -> None:
    """One JSON object a line, keys sorted and text as UTF-8 (not escaped), so equal rows give equal bytes."""
    buffer: list[str] = []
    for row in rows:
        buffer.append(json.dumps(row, sort_keys=True, ensure_ascii=False))
        # Written a thousand rows at a time: one write call a row costs more than the encoding.
        if len(buffer) == 1000:
            stream.write(("\n".join(buffer) + "\n").encode())
            buffer.clear()
    if buffer:
        stream.write(("\n".join(buffer) + "\n").encode())


def rows_for_results(
    items: Iterable[DatasetItem], build: Callable[[DatasetItem, list], Iterable[dict]]
) -> Iterator[dict]:
    """The rows ``build`` makes of each result of each item, in the items' order."""
    for item in items:
        for result in item_results(item):
            yield from build(item, result)


def register_shape(
    *,
    name: str,
    fits: Callable[[DatasetContext], str | None],
    write: Callable[[Iterable[DatasetItem], DatasetContext, BinaryIO], None],
) -> DatasetFormat:
    """A training shape: JSONL rows, one file per split."""
    return register(
        DatasetFormat(
            name=name, extension=EXTENSION, content_type=CONTENT_TYPE, per_split=True, fits=fits, write=write
        )
    )
