"""The fast JSON paths of dataset builds (orjson) give exactly what the json module gives: the same text
for canonical JSON, the same values (and key order) when reading, and the same refusals."""

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exports.formats import canonical_json as module
from exports.formats.canonical_json import canonical_json_bytes, reference_json
from tessera.json_reading import json_loads

# Floats across the whole range (those under 1e-4 are where orjson writes otherwise), integers past 64
# bits, text with control characters, escapes, CJK, astral characters and lone surrogates.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False)
    | st.text()
    | st.sampled_from(["\u2028", "\x00\x1f\x7f", '"\\/', "株式会社", "🚀", "0.00001 e-7 null"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


def same_value(left, right) -> bool:
    """Equal with the same types and dict key order at every depth (repr tells floats from ints, -0.0 from 0)."""
    return repr(left) == repr(right)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_canonical_json_bytes_are_what_json_dumps_writes(value):
    try:
        expected = reference_json(value).encode()
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 for it either way
        with pytest.raises(UnicodeEncodeError):
            canonical_json_bytes(value)
        return
    assert canonical_json_bytes(value) == expected


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_json_loads_reads_what_json_loads_reads(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        assert same_value(json_loads(text), json.loads(text))
        try:
            raw = text.encode()
        except UnicodeEncodeError:
            continue
        assert same_value(json_loads(raw), json.loads(raw))


@pytest.mark.parametrize(
    "text",
    [
        "123456789012345678901234567890",  # orjson would read a float
        "[18446744073709551615, -9223372036854775809]",
        "1e400",
        "[NaN, Infinity, -Infinity]",
        '"\\ud800"',
        '{"b": 1, "a": 2, "b": 3}',
        '{"z": {"y": 1, "x": [0.1, 1e-7, -0.0, 1E2]}}',
        "0.1000000000000000055511151231257827",
    ],
)
def test_json_loads_agrees_where_orjson_would_not(text):
    assert same_value(json_loads(text), json.loads(text))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [float("-inf")]}])
def test_canonical_json_bytes_refuses_nan_and_infinity_as_json_dumps_does(value):
    with pytest.raises(ValueError):
        canonical_json_bytes(value)


@pytest.mark.parametrize(
    "value", [object(), {"a": {1, 2}}, {"when": __import__("datetime").date(2026, 1, 1)}]
)
def test_canonical_json_bytes_refuses_what_is_not_json_as_json_dumps_does(value):
    with pytest.raises(TypeError):
        canonical_json_bytes(value)


def test_without_orjson_the_standard_library_gives_the_same(monkeypatch):
    value = {"b": [1.5, 1e-07, None, 2**80], "a": "株式会社 🚀", "c": {"y": True, "x": -0.0}}
    fast = canonical_json_bytes(value), json_loads(json.dumps(value))
    monkeypatch.setattr(module, "orjson", None)
    assert canonical_json_bytes(value) == fast[0] == reference_json(value).encode()
    assert same_value(json_loads(json.dumps(value)), fast[1])
    assert math.copysign(1, json_loads('{"x": -0.0}')["x"]) == -1


_DIGITISH = st.text(alphabet="0123456789e-.nul日x", max_size=60)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_DIGITISH, st.text(max_size=40)))
def test_the_fast_orjson_guards_answer_as_their_regular_expressions(text):
    """The guards run on every value a build reads and writes; their regular expressions were twice
    orjson's own cost, and the substring tests that replace them must answer alike."""
    from tessera import json_reading

    raw = text.encode("utf-8", "surrogatepass")
    assert json_reading.may_misread(raw) == (json_reading._ORJSON_MAY_MISREAD_BYTES.search(raw) is not None)
    assert module._orjson_may_differ(raw) == (module._ORJSON_MAY_DIFFER.search(raw) is not None)


@pytest.mark.parametrize(
    "text",
    ["1" * 18, "1" * 19, "x" + "9" * 25 + "y", "１" * 19, "1e-7", "1e-07", "e-mail", "0.00001", "null"],
)
def test_the_fast_orjson_guards_on_their_edges(text):
    from tessera import json_reading

    raw = text.encode()
    assert json_reading.may_misread(raw) == (json_reading._ORJSON_MAY_MISREAD_BYTES.search(raw) is not None)
    assert module._orjson_may_differ(raw) == (module._ORJSON_MAY_DIFFER.search(raw) is not None)
