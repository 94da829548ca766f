"""Plain-Python tests of label configs, result checks and prediction diffs: no database."""

import pytest

from annotation.label_config import config_digest, parse_label_config
from annotation.prediction_diff import prediction_diff
from annotation.results import ResultValidator, validate_result, validate_task_data
from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG, choice, span

LIMIT = 256 * 1024

CONVERSATION_CONFIG = """<View>
  <Header value="Rate the reply"/>
  <Paragraphs name="dialogue" value="$dialogue" layout="dialogue"/>
  <Rating name="quality" toName="dialogue" maxRating="5"/>
  <TextArea name="answer" toName="dialogue"/>
  <!-- reviewers read this comment, the parser ignores it -->
</View>"""


def parse(config: str):
    return parse_label_config(config, max_bytes=LIMIT)


def refusal(call, *args, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- label configs -------------------------------------------------------------------------------------------


def test_sentiment_config_yields_its_control_object_and_variable():
    schema = parse(SENTIMENT_CONFIG)
    assert schema.variables == ("text",)
    assert schema.controls["sentiment"].labels == ("Positive", "Negative", "Neutral")
    assert schema.controls["sentiment"].to_names == ("text",)
    assert schema.objects["text"].tag == "text"
    assert schema.summary() == {
        "sentiment": {
            "type": "Choices",
            "to_name": ["text"],
            "inputs": [{"type": "Text", "value": "text"}],
            "labels": ["Positive", "Negative", "Neutral"],
        }
    }


def test_config_with_several_controls_and_a_comment_parses():
    schema = parse(CONVERSATION_CONFIG)
    assert schema.variables == ("dialogue",)
    assert set(schema.controls) == {"quality", "answer"}
    assert schema.summary()["quality"]["inputs"] == [{"type": "Paragraphs", "value": "dialogue"}]


def test_japanese_label_values_are_kept():
    config = '<View><Text name="text" value="$text"/><Labels name="ent" toName="text"><Label value="銀行"/></Labels></View>'
    assert parse(config).controls["ent"].labels == ("銀行",)


def test_each_variable_is_listed_once_in_order():
    config = """<View><Text name="a" value="$question"/><Text name="b" value="$answer"/>
      <Text name="c" value="$question"/><Choices name="x" toName="a"><Choice value="y"/></Choices></View>"""
    assert parse(config).variables == ("question", "answer")


def test_digest_is_stable_and_tells_configs_apart():
    assert config_digest(SENTIMENT_CONFIG) == config_digest(SENTIMENT_CONFIG)
    assert config_digest(SENTIMENT_CONFIG) != config_digest(NER_CONFIG)


@pytest.mark.parametrize("config", ["", "   \n", None, 42])
def test_empty_or_non_text_config_is_required(config):
    error = refusal(parse, config)
    assert (error.field, error.code) == ("label_config", "required")


def test_config_over_the_byte_limit_is_refused_counting_bytes_not_characters():
    config = SENTIMENT_CONFIG.replace("Neutral", "中立" * 40)
    characters, encoded = len(config), len(config.encode())
    error = refusal(parse_label_config, config, max_bytes=characters + 1)
    assert (error.code, error.field) == ("too_large", "label_config")
    assert str(encoded) in error.message
    assert parse_label_config(config, max_bytes=encoded).variables == ("text",)


@pytest.mark.parametrize(
    ("config", "code", "words"),
    [
        ("<View><Text name=", "invalid", "Invalid label config"),
        ('<View><Text name="text" value="$text"/><Sparkle name="s" toName="text"/></View>', "unknown_tag", "Sparkle"),
        ('<View><Text name="text" value="text"/></View>', "missing_variable", 'value="text"'),
        ('<View><Text name="text" value="$"/></View>', "missing_variable", 'value="$"'),
        ("<View><Header value='Nothing to label'/></View>", "no_objects", "no object tag"),
        ('<View><Text name="t" value="$t"/><Choices name="c" toName="nope"><Choice value="A"/></Choices></View>',
         "invalid", "nope"),
    ],
)  # fmt: skip
def test_bad_config_is_refused_saying_why(config, code, words):
    error = refusal(parse, config)
    assert (error.field, error.code) == ("label_config", code)
    assert words in error.message


def test_a_refused_config_is_refused_again_when_asked_twice():
    """The parse cache must not remember a failure as a success."""
    config = '<View><Text name="text" value="text"/></View>'
    assert refusal(parse, config).code == refusal(parse, config).code == "missing_variable"


# --- results -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentiment():
    return parse(SENTIMENT_CONFIG)


@pytest.fixture(scope="module")
def ner():
    return parse(NER_CONFIG)


def test_valid_choice_passes(sentiment):
    validate_result(sentiment, choice("Negative"), {"text": "a"}, field="")


def test_empty_result_passes(sentiment):
    validate_result(sentiment, [], {"text": "a"}, field="")


@pytest.mark.parametrize(
    ("result", "location", "words"),
    [
        (choice("Bullish"), "result[0]", "Bullish"),
        ([{**choice("Positive")[0], "from_name": "mood"}], "result[0]", "mood"),
        ([{**choice("Positive")[0], "to_name": "body"}], "result[0]", "body"),
        ([{**choice("Positive")[0], "type": "labels"}], "result[0]", "labels"),
        ([{k: v for k, v in choice("Positive")[0].items() if k != "value"}], "result[0]", "value"),
        (choice("Positive") + choice("Bullish"), "result[1]", "Bullish"),
        ({"choices": ["Positive"]}, "result", "list"),
        (["Positive"], "result", "dictionary"),
    ],
)
def test_bad_result_names_the_region_and_the_reason(sentiment, result, location, words):
    error = refusal(validate_result, sentiment, result, {"text": "a"}, field="")
    assert (error.field, error.code) == (location, "invalid_result")
    assert words in error.message


def test_location_is_prefixed_with_the_holders_path(sentiment):
    error = refusal(
        validate_result, sentiment, choice("Bullish"), {"text": "a"}, field="tasks[7].annotations[2]"
    )
    assert error.field == "tasks[7].annotations[2].result[0]"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("日本銀行が利上げ", 0, 4), ("日本銀行が利上げ", 5, 8), ("利上げ😀", 3, 4), ("Rates rise.", 0, 11)],
)
def test_span_inside_the_text_passes_counting_code_points(ner, text, start, end):
    validate_result(ner, [span(start, end, "ORG")], {"text": text}, field="")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("日本銀行が利上げ", 0, 9),
        ("日本銀行が利上げ", 8, 9),
        ("利上げ😀", 0, 5),
        ("Rates rise.", -1, 2),
        ("Rates rise.", 3, 3),
        ("Rates rise.", 4, 2),
        ("Rates rise.", True, 3),
        ("Rates rise.", 0, 2.0),
        ("Rates rise.", "0", 2),
    ],
)
def test_span_outside_the_text_or_not_integer_is_refused(ner, text, start, end):
    error = refusal(
        validate_result, ner, [span(0, 1, "PER"), span(start, end, "ORG")], {"text": text}, field=""
    )
    assert error.field in ("result[1].value", "result[1]")
    assert error.code in ("span_out_of_range", "invalid_result")


def test_span_with_an_unknown_label_is_refused(ner):
    error = refusal(validate_result, ner, [span(0, 3, "LOC")], {"text": "Rates rise."}, field="")
    assert (error.field, error.code) == ("result[0]", "invalid_result")
    assert "LOC" in error.message


def test_remembered_result_still_has_its_spans_checked_against_each_task(ner):
    validator = ResultValidator(ner)
    result = [span(0, 6, "ORG")]
    validator.validate(result, {"text": "日本銀行が利上げ"}, field="tasks[0].annotations[0]", text="same")
    error = refusal(
        validator.validate, result, {"text": "日本銀行"}, field="tasks[1].annotations[0]", text="same"
    )
    assert (error.field, error.code) == ("tasks[1].annotations[0].result[0].value", "span_out_of_range")


def test_validator_refuses_a_bad_result_every_time_it_is_seen(sentiment):
    validator = ResultValidator(sentiment)
    for _ in range(2):
        error = refusal(validator.validate, choice("Bullish"), {"text": "a"}, field="tasks[0]", text="bad")
        assert error.code == "invalid_result"


def test_task_data_missing_a_variable_names_it_and_what_the_task_has(sentiment):
    error = refusal(validate_task_data, sentiment, {"body": "x", "source": "y"}, field="tasks[3].data")
    assert (error.field, error.code) == ("tasks[3].data.text", "missing_variable")
    assert "'body'" in error.message and "'text'" in error.message


@pytest.mark.parametrize("data", [None, [], "text", 3])
def test_task_data_that_is_not_an_object_is_refused(sentiment, data):
    error = refusal(validate_task_data, sentiment, data, field="tasks[0].data")
    assert (error.field, error.code) == ("tasks[0].data", "invalid_data")


# --- prediction diffs ----------------------------------------------------------------------------------------


def test_unchanged_prediction_is_accepted():
    assert prediction_diff(choice("Positive"), choice("Positive")) == {
        "accepted": True, "kept": 1, "removed": 0, "added": 0,
    }  # fmt: skip


def test_region_ids_scores_and_order_do_not_count_as_changes():
    predicted = [{**span(0, 4, "ORG"), "id": "a1", "score": 0.9}, {**span(5, 8, "PER"), "id": "a2"}]
    annotated = [{**span(5, 8, "PER"), "id": "zz"}, {**span(0, 4, "ORG"), "origin": "manual"}]
    assert prediction_diff(predicted, annotated)["accepted"] is True


def test_changed_kept_removed_and_added_regions_are_counted():
    predicted = [span(0, 4, "ORG"), span(5, 8, "PER")]
    annotated = [span(0, 4, "ORG"), span(5, 8, "ORG"), span(9, 11, "MONEY")]
    assert prediction_diff(predicted, annotated) == {"accepted": False, "kept": 1, "removed": 1, "added": 2}


def test_empty_prediction_accepted_as_empty_and_not_when_filled():
    assert prediction_diff([], [])["accepted"] is True
    assert prediction_diff([], choice("Positive")) == {"accepted": False, "kept": 0, "removed": 0, "added": 1}


def test_non_dict_regions_are_ignored_by_the_diff():
    assert prediction_diff(["junk", *choice("Positive")], choice("Positive"))["accepted"] is True


def test_config_cannot_read_local_files_through_an_external_entity(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret-content")
    config = (
        f'<?xml version="1.0"?><!DOCTYPE View [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="&xxe;"/></Choices></View>'
    )
    error = refusal(parse, config)
    assert error.field == "label_config"
    assert "secret-content" not in error.message


def test_config_with_exponential_entity_expansion_is_refused_quickly():
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
    )
    config = (
        f'<?xml version="1.0"?><!DOCTYPE View [{entities}]><View><Text name="text" value="$text"/>'
        '<Choices name="c" toName="text"><Choice value="&i;"/></Choices></View>'
    )
    assert refusal(parse, config).field == "label_config"
