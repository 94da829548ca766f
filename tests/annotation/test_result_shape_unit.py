"""Results of one shape (own region ids, own span offsets) are checked by the SDK once per import."""

import pytest

from annotation.label_config import parse_label_config
from annotation.results import ResultValidator, result_shape, shape_key
from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG


def _span(region_id, start: int, end: int, label: str, text: str) -> dict:
    return {"id": region_id, "from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": [label], "text": text[start:end]}}  # fmt: skip


def test_ids_offsets_and_span_text_do_not_change_the_shape():
    one = [_span("a1", 0, 4, "ORG", "Acme beat"), _span("b2", 5, 9, "PER", "Acme beat")]
    two = [_span("zz", 2, 7, "ORG", "Big Globex sale"), _span("yy", 8, 12, "PER", "Big Globex sale")]
    assert result_shape(one) == result_shape(two)
    # A label, a type of offset or a repeated id (split format, relations) is part of the shape.
    assert result_shape(one) != result_shape([_span("a1", 0, 4, "MONEY", "Acme beat"), one[1]])
    fractional = _span("a1", 0, 4, "ORG", "Acme beat")
    fractional["value"]["start"] = 0.5
    assert result_shape(one) != result_shape([fractional, one[1]])
    assert result_shape(one) != result_shape([one[0], _span("a1", 5, 9, "PER", "Acme beat")])
    assert result_shape("not a list") is None and result_shape([1]) is None


def test_shape_keys_are_equal_for_equal_shapes_and_tell_numbers_booleans_and_text_apart():
    one = [_span("a1", 0, 4, "ORG", "Acme beat")]
    two = [_span("zz", 3, 9, "ORG", "Big Globex sale")]
    assert shape_key(result_shape(one)) == shape_key(result_shape(two))
    keys = set()
    for extra in (1, 1.0, True, "1", None, [1], {"1": 1}):
        region = _span("a1", 0, 4, "ORG", "Acme beat")
        region["value"]["extra"] = extra
        keys.add(shape_key(result_shape([region])))
    assert len(keys) == 7


def test_a_shape_checked_once_still_fails_for_a_bad_label_and_a_span_outside_the_text():
    validator = ResultValidator(parse_label_config(NER_CONFIG, max_bytes=65536))
    text = "Acme beat estimates"
    for index in range(3):
        result = [_span(f"id{index}", 0, 4, "ORG", text)]
        validator.validate(result, {"text": text}, field="t", text=str(result))
    with pytest.raises(ApplicationError, match="NOPE"):
        bad = [_span("other", 0, 4, "NOPE", text)]
        validator.validate(bad, {"text": text}, field="t", text=str(bad))
    with pytest.raises(ApplicationError) as outside:
        far = [_span("far", 0, 40, "ORG", text)]
        validator.validate(far, {"text": text}, field="t", text=str(far))
    assert outside.value.code == "span_out_of_range"
    for start, end in ((True, 4), (0, 4.0), (3, 2)):
        with pytest.raises(ApplicationError) as refused:
            odd = [_span("odd", 0, 4, "ORG", text)]
            odd[0]["value"].update(start=start, end=end)
            validator.validate(odd, {"text": text}, field="t", text=str(odd))
        assert refused.value.field.startswith("t.result[0]")
