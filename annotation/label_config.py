"""Label Studio XML label configs: parse, validate, summarise. Plain Python, no ORM.

``label_studio_sdk.label_interface`` does the parsing and the checks Label
Studio itself makes (XML syntax, schema, unique names, ``toName`` targets).
On top we reject what it lets through but a labeling tool cannot use: tags
that Label Studio does not know, object tags whose ``value`` names no task
field, and controls that point at no object.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from label_studio_sdk.label_interface import LabelInterface
from lxml import etree

from annotation.media_urls import own_hosts, points_at_own_api
from tessera.adapters.sdk_label_interface import (
    CONTROL_TAGS,
    OBJECT_TAGS,
    interface_controls,
    interface_element_attributes,
    interface_element_tags,
    interface_objects,
    interface_parse,
)
from tessera.errors import ApplicationError

# Tags that only arrange or decorate the interface, or are children of controls.
LAYOUT_TAGS = {
    "view", "header", "style", "label", "choice", "relation", "filter", "collapse",
    "panel", "channel", "bucket", "shortcut", "item", "multichannel", "markdown", "pdf",
}  # fmt: skip
KNOWN_TAGS = CONTROL_TAGS | OBJECT_TAGS | LAYOUT_TAGS | {"relations"}
# Object tags whose spans are character offsets into a string field of the task.
TEXT_OBJECT_TAGS = {"text", "hypertext"}
# Object tags whose task value the browser loads as a URL.
MEDIA_OBJECT_TAGS = {"image", "audio", "audioplus", "video", "timeseries", "pdf"}


@dataclass(frozen=True)
class ControlSpec:
    name: str
    type: str  # the tag as written: Choices, Labels, TextArea, …
    to_names: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def tag(self) -> str:
        return self.type.lower()


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    type: str  # the tag as written: Text, Image, Paragraphs, …
    variable: str  # the task data key the object reads, without "$"

    @property
    def tag(self) -> str:
        return self.type.lower()


@dataclass(frozen=True)
class LabelSchema:
    config: str
    interface: LabelInterface = field(repr=False, compare=False)
    controls: dict[str, ControlSpec]
    objects: dict[str, ObjectSpec]

    # Cached: imports read these once a task. A schema is frozen, and cached_property writes the
    # instance's __dict__ directly, which frozen allows.
    @cached_property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(spec.variable for spec in self.objects.values()))

    @cached_property
    def text_variables(self) -> dict[str, str]:
        """The task data key of each object whose spans are character offsets, by the object's name."""
        return {name: spec.variable for name, spec in self.objects.items() if spec.tag in TEXT_OBJECT_TAGS}

    @cached_property
    def media_variables(self) -> tuple[str, ...]:
        """The task data keys that objects load as URLs (images, audio, video…)."""
        return tuple(
            dict.fromkeys(spec.variable for spec in self.objects.values() if spec.tag in MEDIA_OBJECT_TAGS)
        )

    def summary(self) -> dict:
        """Label Studio's ``parsed_label_config`` shape, which the SDK and our frontend read."""
        return {
            control.name: {
                "type": control.type,
                "to_name": list(control.to_names),
                "inputs": [
                    {"type": self.objects[name].type, "value": self.objects[name].variable}
                    for name in control.to_names
                ],
                "labels": list(control.labels),
            }
            for control in self.controls.values()
        }


def config_digest(config: str) -> str:
    return hashlib.sha256(config.encode()).hexdigest()


def parse_label_config(config: object, *, max_bytes: int) -> LabelSchema:
    """Parse and validate ``config``; raise ApplicationError(field="label_config") saying what is wrong."""
    if not isinstance(config, str) or not config.strip():
        raise ApplicationError(_("The label config is empty."), field="label_config", code="required")
    size = len(config.encode())
    if size > max_bytes:
        raise ApplicationError(
            _("The label config is %(size)s bytes; the limit is %(max_bytes)s.")
            % {"size": size, "max_bytes": max_bytes},
            field="label_config",
            code="too_large",
        )
    cached = _CACHE.get(config)
    if cached is not None:
        return cached
    _check_shape(config)
    schema = _parse(config)
    _CACHE.put(config, schema, weight=size * PARSED_BYTES_PER_CONFIG_BYTE)
    return schema


def _check_shape(config: str) -> None:
    """Refuse a config with more elements, attributes or nesting than the limits, before the SDK sees it.

    The SDK's parse and checks cost about 0.25 ms an element and grow faster than linearly (0.12 s for
    500 choices, 1.6 s for 5,000), and any member may ask for them; lxml's own parse of the largest
    config allowed takes a few milliseconds. Entities are not expanded, so a small document cannot
    count as a large one.
    """
    limits = (
        ("elements", settings.TESSERA_LABEL_CONFIG_MAX_ELEMENTS),
        ("attributes", settings.TESSERA_LABEL_CONFIG_MAX_ATTRIBUTES),
        ("levels of nesting", settings.TESSERA_LABEL_CONFIG_MAX_DEPTH),
    )
    elements = attributes = depth = deepest = 0
    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True)
    try:
        parser.feed(config)
        parser.close()
        events = parser.read_events()
    except etree.XMLSyntaxError:
        return  # the SDK reports syntax errors in its own words
    for event, element in events:
        if event == "end":
            depth -= 1
            continue
        elements += 1
        attributes += len(element.attrib)
        depth += 1
        deepest = max(deepest, depth)
    for (name, limit), count in zip(limits, (elements, attributes, deepest), strict=True):
        if count > limit:
            raise ApplicationError(
                _("The label config has %(count)s %(name)s; the limit is %(limit)s.")
                % {"count": count, "name": name, "limit": limit},
                field="label_config",
                code="too_complex",
            )


# What a parsed config keeps in memory, per byte of its XML: measured with tracemalloc on configs of
# 500 to 5,000 choices (13 to 32 bytes a byte); the larger figure, so the cache's bound holds.
PARSED_BYTES_PER_CONFIG_BYTE = 32


class _SizeBoundedCache:
    """Parsed configs by their text, least recently used first out, bounded by their estimated size.

    A bound by count let 40 different large configs grow each worker by 300 MB; a bound by size keeps
    many small configs (the usual case: each project's config, asked for on every submit) and few
    large ones.
    """

    def __init__(self):
        self.entries: OrderedDict[str, tuple[LabelSchema, int]] = OrderedDict()
        self.weight = 0
        self.lock = threading.Lock()

    def get(self, config: str) -> LabelSchema | None:
        with self.lock:
            entry = self.entries.get(config)
            if entry is None:
                return None
            self.entries.move_to_end(config)
            return entry[0]

    def put(self, config: str, schema: LabelSchema, *, weight: int) -> None:
        budget = settings.TESSERA_LABEL_CONFIG_CACHE_BYTES
        if weight > budget:
            return
        with self.lock:
            if config in self.entries:
                return
            self.entries[config] = (schema, weight)
            self.weight += weight
            while self.weight > budget:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.weight -= dropped

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.weight = 0


_CACHE = _SizeBoundedCache()


def _parse(config: str) -> LabelSchema:
    try:
        interface = interface_parse(config)
    except Exception as exc:  # noqa: BLE001 - the SDK raises several unrelated types for bad XML
        raise ApplicationError(
            _("Invalid label config: %(exc)s") % {"exc": exc}, field="label_config"
        ) from exc

    tags = interface_element_tags(interface)
    unknown = sorted(tag for tag in tags if tag.lower() not in KNOWN_TAGS)
    if unknown:
        raise ApplicationError(
            ngettext(
                "Invalid label config: unknown tag %(tags)s.",
                "Invalid label config: unknown tags %(tags)s.",
                len(unknown),
            )
            % {"tags": ", ".join(unknown)},
            field="label_config",
            code="unknown_tag",
        )

    _refuse_own_api_urls(interface)

    objects: dict[str, ObjectSpec] = {}
    for obj in interface_objects(interface):
        name, value = obj.name, obj.value
        if not value.startswith("$") or len(value) < 2:
            raise ApplicationError(
                _(
                    'Invalid label config: <%(tag)s name="%(name)s"> has value="%(value)s"; it must name a task field, as in value="$%(name)s".'
                )
                % {"tag": obj.tag, "name": name, "value": value},
                field="label_config",
                code="missing_variable",
            )
        objects[name] = ObjectSpec(name=name, type=obj.tag, variable=value[1:])

    if not objects:
        raise ApplicationError(
            _("Invalid label config: it has no object tag (Text, Image, …) to label."),
            field="label_config",
            code="no_objects",
        )

    controls: dict[str, ControlSpec] = {}
    for control in interface_controls(interface):
        name, to_names = control.name, control.to_names
        for target in to_names:
            if target not in objects:
                raise ApplicationError(
                    _(
                        'Invalid label config: <%(tag)s name="%(name)s"> has toName="%(target)s", which is not an object tag.'
                    )
                    % {"tag": control.tag, "name": name, "target": target},
                    field="label_config",
                    code="bad_to_name",
                )
        controls[name] = ControlSpec(name=name, type=control.tag, to_names=to_names, labels=control.labels)

    return LabelSchema(config=config, interface=interface, controls=controls, objects=objects)


def _refuse_own_api_urls(interface: LabelInterface) -> None:
    """A literal URL in the config (``<Image value="/api/projects/1/next"/>``, any attribute) that points
    at our own API would make every annotator's browser call it; refuse it by name."""
    hosts = own_hosts()
    for tag, attribute, value in interface_element_attributes(interface):
        if points_at_own_api(value, own_hosts=hosts):
            raise ApplicationError(
                _(
                    'Invalid label config: <%(tag)s %(attribute)s="%(value)s"> points at Tessera\'s own API; an image or media address may not.'
                )
                % {"tag": tag, "attribute": attribute, "value": value},
                field="label_config",
                code="own_api_url",
            )
