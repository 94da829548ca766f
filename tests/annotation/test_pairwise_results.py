"""Pairwise results as Label Studio stores them: to_name is the control's own name, selected is a side."""

import pytest

from annotation.label_config import parse_label_config
from annotation.results import validate_result
from tessera.errors import ApplicationError

CONFIG = '<View><Text name="left" value="$a"/><Text name="right" value="$b"/><Pairwise name="pw" toName="left,right"/></View>'
DATA = {"a": "first answer", "b": "second answer"}


def pick(to_name: str, selected) -> list[dict]:
    return [{"from_name": "pw", "to_name": to_name, "type": "pairwise", "value": {"selected": selected}}]


@pytest.mark.parametrize(("to_name", "selected"), [("pw", "left"), ("pw", "right"), ("left", "right")])
def test_pairwise_pick_of_a_side_is_accepted(to_name, selected):
    validate_result(parse_label_config(CONFIG, max_bytes=10_000), pick(to_name, selected), DATA, field="")


@pytest.mark.parametrize("selected", ["middle", None, 1])
def test_pairwise_pick_must_name_left_or_right(selected):
    with pytest.raises(ApplicationError) as caught:
        validate_result(parse_label_config(CONFIG, max_bytes=10_000), pick("pw", selected), DATA, field="")
    assert caught.value.field == "result[0]"


def test_pairwise_to_name_must_still_be_the_control_or_one_of_its_objects():
    with pytest.raises(ApplicationError):
        validate_result(
            parse_label_config(CONFIG, max_bytes=10_000), pick("elsewhere", "left"), DATA, field=""
        )
