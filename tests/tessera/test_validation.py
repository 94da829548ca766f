"""tessera.validation, the one module that says what input the database and the API can hold. Plain data."""

import sys

import pytest

from tessera import validation
from tessera.errors import ApplicationError, NotFound


def refusal(function, *args, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        function(*args, **kwargs)
    return caught.value


def nested(levels: int, leaf=None):
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def test_lone_surrogates_and_nul_are_refused_in_values_and_keys_naming_the_path():
    error = refusal(validation.check_json, {"a": [1, {"b": "x\ud800"}]}, field="result")
    assert (error.code, error.field) == ("surrogate_character", "result.a[1].b")
    error = refusal(validation.check_json, {"ok": {"k\udfff": 1}})
    # The field names the key with an escape: the error response itself must stay encodable.
    assert (error.code, error.field) == ("surrogate_character", "ok.k\\udfff")
    error = refusal(validation.check_json, ["fine", "a\x00b"], field="data")
    assert (error.code, error.field) == ("nul_character", "data[1]")


def test_well_formed_text_passes_in_any_script_including_pairs_outside_the_bmp():
    validation.check_json({"text": "日本語 한국어 \U0001f600 Ωmega", "n": [1, 2.5, None, True, -(10**300)]})
    assert validation.check_text("\U0001f600", field="t") == "\U0001f600"


@pytest.mark.parametrize("levels", [317, 940, 5000, 200_000])
def test_any_depth_is_refused_without_recursion(levels):
    """Depths that used to raise RecursionError deep in a write; 200k levels would overflow any recursive walk."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # well under the depth: the check must not recurse at all
    try:
        error = refusal(validation.check_json, {"result": nested(levels)})
    finally:
        sys.setrecursionlimit(limit)
    assert error.code == "too_deep"


def test_depth_up_to_the_limit_passes_and_one_more_is_refused():
    validation.check_json(nested(validation.MAX_JSON_DEPTH, "leaf"))
    assert refusal(validation.check_json, nested(validation.MAX_JSON_DEPTH + 1)).code == "too_deep"


def test_integers_of_hundreds_of_digits_and_non_finite_floats_are_refused_in_documents():
    assert refusal(validation.check_json, {"n": 10**400}).code == "out_of_range"
    assert refusal(validation.check_json, {"n": -(10**308)}).code == "out_of_range"
    assert refusal(validation.check_json, {"n": float("nan")}).code == "out_of_range"
    validation.check_json({"n": 10**307, "big_id": 10**29})


@pytest.mark.parametrize(
    "value", [10**400, 1e308, 86400.5, -1, -0.5, float("inf"), float("nan"), True, "3", [], {}]
)
def test_lead_time_is_a_number_of_seconds_from_zero_to_a_day(value):
    assert refusal(validation.lead_time, value).field == "lead_time"


def test_lead_time_within_a_day_passes_as_a_float():
    assert validation.lead_time(0) == 0.0
    assert validation.lead_time(86400) == 86400.0
    assert validation.lead_time(None) is None


@pytest.mark.parametrize("value", [10**400, 1.5, -0.1, float("inf"), False, "0.5"])
def test_score_is_finite_and_between_zero_and_one(value):
    assert refusal(validation.score, value, field="score").field == "score"


@pytest.mark.parametrize(
    "value", [2**63, -(2**63) - 1, "9223372036854775808", "1" * 400, True, 1.0, "1.0", "١٢", " ", None]
)
def test_ids_outside_64_bits_or_not_integers_name_no_object(value):
    with pytest.raises(NotFound):
        validation.object_id(value)
    assert refusal(validation.object_id, value, field="task").field == "task"


def test_ids_within_64_bits_pass_as_integers_or_ascii_digits():
    assert validation.object_id(2**63 - 1) == 2**63 - 1
    assert validation.object_id(" 42 ") == 42
    assert validation.object_id("9223372036854775807") == 2**63 - 1


def test_encoded_json_is_checked_for_nul_escapes_but_not_an_escaped_backslash_before_u0000():
    import json

    fine = {"a": "\\u0000"}  # a backslash, then the letters u0000
    assert validation.check_encoded_json(json.dumps(fine), fine, field="d")
    bad = {"a": "\x00"}
    assert refusal(validation.check_encoded_json, json.dumps(bad), bad, field="d").code == "nul_character"


def test_flags_are_true_or_false_with_an_optional_default_for_none():
    assert validation.flag(None, field="f", default=False) is False
    assert refusal(validation.flag, None, field="f").field == "f"
    assert refusal(validation.flag, 1, field="f").field == "f"


@pytest.mark.parametrize(
    "value", ["0", "-1", "+1", " 1", "1_000", "1.0", "١٢", "9" * 21, "", None, True, 2**63]
)
def test_query_integers_are_ascii_digits_within_bounds(value):
    assert refusal(validation.query_integer, value, field="page").field == "page"


def test_query_integers_pass_as_integers():
    assert validation.query_integer("12", field="page") == 12
    assert validation.query_integer(7, field="limit", high=100) == 7
    assert refusal(validation.query_integer, "101", field="limit", high=100).field == "limit"


def test_encoded_json_is_walked_only_when_a_scan_trips_and_never_refused_for_look_alikes_in_strings():
    import json

    look_alikes = {"text": "[" * 150 + "9" * 400 + "\\u0000"}
    encoded = json.dumps(look_alikes, ensure_ascii=False)
    assert validation.check_encoded_json(encoded, look_alikes, field="data") == encoded
    deep = nested(150)
    error = refusal(validation.check_encoded_json, json.dumps(deep), deep, field="data")
    assert (error.code, error.field) == ("too_deep", "data" + "[0]" * 100)
    big = {"n": 10**400}
    assert refusal(validation.check_encoded_json, json.dumps(big), big, field="data").field == "data.n"
    bad = {"k": "a\ud800"}
    assert (
        refusal(validation.check_encoded_json, json.dumps(bad, ensure_ascii=False), bad, field="d").field
        == "d.k"
    )
