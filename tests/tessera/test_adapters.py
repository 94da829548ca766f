"""The behaviour Tessera relies on in private internals of label-studio-sdk and CPython's json, pinned here
so that an upgrade that changes it fails a test rather than production, and a check that those
internals are reached from tessera/adapters/ only."""

import json
import re
from pathlib import Path

import pytest

from tessera.adapters import c_json_encoder, sdk_label_interface

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("tessera", "annotation", "exports", "training", "frontend", "bench")
PRIVATE_NAMES = re.compile(
    r"c_make_encoder|encode_basestring|_make_iterencode|json\.encoder|_TAG_TO_CLASS"
    r"|\._tree\b|\._objects\b|\._controls\b|\._labels\b|label_studio_sdk\.[\w.]*\._\w+"
)


def test_private_internals_are_reached_from_the_adapters_only():
    offenders = []
    for directory in SOURCE_DIRS:
        for path in (REPO_ROOT / directory).rglob("*.py"):
            if (
                "node_modules" in path.parts
                or path.parent.name == "adapters"
                and path.parent.parent.name == "tessera"
            ):
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if PRIVATE_NAMES.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == []


# --- CPython's C JSON encoder -----------------------------------------------------------------------------

VALUES = [
    {},
    [],
    {
        "text": "日本語のテキスト",
        "n": 1,
        "f": 0.1,
        "big": 10**30,
        "neg": -2.5e-10,
        "none": None,
        "t": True,
        "f2": False,
    },
    [
        {
            "from_name": "label",
            "value": {"start": 0, "end": 5, "labels": ["ORG"], "text": 'quote " and \\ and \n'},
        }
    ],
    {"nested": [[[{"a": [1, 2, {"b": "\u2028\u0007"}]}]]]},
    "plain string",
    1e300,
]


def test_the_c_encoder_is_available_on_this_python():
    """Without it imports fall back to JSONEncoder.encode: correct, but a second slower per million tasks."""
    from json.encoder import c_make_encoder

    assert c_make_encoder is not None


@pytest.mark.parametrize("value", VALUES)
def test_compact_encoder_writes_exactly_what_json_dumps_writes(value):
    encode = c_json_encoder.compact_encoder()
    assert encode(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_compact_encoder_refuses_what_is_not_json():
    encode = c_json_encoder.compact_encoder()
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"when": object()})


# --- label-studio-sdk's LabelInterface -------------------------------------------------------------------

CONFIG = """<View>
  <!-- a comment: not an element with a tag -->
  <Header value="Pick one"/>
  <Text name="text" value="$text"/>
  <Image name="image" value="$url"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/>
  </Choices>
  <RectangleLabels name="boxes" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
</View>"""


def test_the_tag_registries_hold_label_studios_tags_in_lower_case():
    assert {"choices", "labels", "textarea", "rating", "rectanglelabels", "polygonlabels", "pairwise"} <= (
        sdk_label_interface.CONTROL_TAGS
    )
    assert {"text", "hypertext", "image", "paragraphs", "audio"} <= sdk_label_interface.OBJECT_TAGS
    assert all(
        tag == tag.lower() for tag in sdk_label_interface.CONTROL_TAGS | sdk_label_interface.OBJECT_TAGS
    )


def test_a_parsed_config_gives_its_tags_objects_and_controls_as_written():
    interface = sdk_label_interface.interface_parse(CONFIG)
    assert sdk_label_interface.interface_element_tags(interface) == {
        "View", "Header", "Text", "Image", "Choices", "Choice", "RectangleLabels", "Label"
    }  # fmt: skip
    objects = {obj.name: obj for obj in sdk_label_interface.interface_objects(interface)}
    assert objects == {
        "text": sdk_label_interface.ParsedObject(name="text", tag="Text", value="$text"),
        "image": sdk_label_interface.ParsedObject(name="image", tag="Image", value="$url"),
    }
    controls = {control.name: control for control in sdk_label_interface.interface_controls(interface)}
    assert controls["sentiment"] == sdk_label_interface.ParsedControl(
        name="sentiment", tag="Choices", to_names=("text",), labels=("Positive", "Negative")
    )
    assert controls["boxes"].to_names == ("image",) and controls["boxes"].labels == ("Car", "Person")


@pytest.mark.parametrize(
    "config",
    ["<View><Text name=", '<View><Choices name="c" toName="missing"><Choice value="A"/></Choices></View>'],
)
def test_the_sdk_refuses_a_broken_config(config):
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises several unrelated types; we catch them all
        sdk_label_interface.interface_parse(config)
