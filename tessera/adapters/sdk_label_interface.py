"""label-studio-sdk's ``LabelInterface``, read through the only module that touches its private parts.

The SDK parses and checks a label config the way Label Studio does, but exposes what it parsed only
through underscore attributes: the XML tree (``_tree``), object and control tags by name (``_objects``,
``_controls``), labels per control (``_labels``) and the tag registries (``_TAG_TO_CLASS``). Everything
Tessera needs from them is read here into plain values; tests/tessera/test_adapters.py pins it.
"""

from dataclasses import dataclass

from label_studio_sdk.label_interface import LabelInterface
from label_studio_sdk.label_interface.control_tags import _TAG_TO_CLASS as _CONTROL_TAG_CLASSES
from label_studio_sdk.label_interface.object_tags import _TAG_TO_CLASS as _OBJECT_TAG_CLASSES

# Lower-case tag names, as the SDK's registries key them.
CONTROL_TAGS: frozenset[str] = frozenset(_CONTROL_TAG_CLASSES)
OBJECT_TAGS: frozenset[str] = frozenset(_OBJECT_TAG_CLASSES)


@dataclass(frozen=True)
class ParsedObject:
    name: str
    tag: str  # as written: Text, Image, …
    value: str  # the value attribute, "$field" when it names a task field


@dataclass(frozen=True)
class ParsedControl:
    name: str
    tag: str  # as written: Choices, Labels, …
    to_names: tuple[str, ...]
    labels: tuple[str, ...]


def interface_parse(config: str) -> LabelInterface:
    """Parse and validate as Label Studio does; the SDK raises several unrelated types for a bad config."""
    interface = LabelInterface(config)
    interface.validate()
    return interface


def interface_element_tags(interface: LabelInterface) -> set[str]:
    """Every element's tag as written (comments and processing instructions have a non-string tag in lxml)."""
    return {element.tag for element in interface._tree.iter() if isinstance(element.tag, str)}


def interface_element_attributes(interface: LabelInterface) -> list[tuple[str, str, str]]:
    """(tag, attribute, value) for every attribute of every element of the config's XML tree."""
    return [
        (element.tag, attribute, value)
        for element in interface._tree.iter()
        if isinstance(element.tag, str)
        for attribute, value in element.attrib.items()
    ]


def interface_objects(interface: LabelInterface) -> list[ParsedObject]:
    return [
        ParsedObject(name=name, tag=obj.tag, value=obj.value or "")
        for name, obj in interface._objects.items()
    ]


def interface_controls(interface: LabelInterface) -> list[ParsedControl]:
    return [
        ParsedControl(
            name=name,
            tag=control.tag,
            to_names=tuple(control.to_name or ()),
            labels=tuple(interface._labels.get(name, {}).keys()),
        )
        for name, control in interface._controls.items()
    ]
