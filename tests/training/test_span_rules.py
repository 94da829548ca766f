"""Span rules: offsets in code points (Japanese, emoji), the longest match on overlaps, word boundaries,
case, the gazetteer, regular expressions checked when saved and bounded when run."""

import pytest

from annotation.label_config import parse_label_config
from tessera.errors import ApplicationError
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG
from training.models import Prelabeler
from training.prelabelers import span_rules
from training.prelabelers.base import Dropped, PredictionOut, TaskInput
from training.prelabelers.span_rules import Candidate, SpanRules, choose
from training.services.prelabelers import checked_settings, create_prelabeler


def backend(settings: dict | None = None, config: str = NER_CONFIG) -> SpanRules:
    prelabeler = Prelabeler(
        pk=7, backend="span_rules", settings=checked_settings("span_rules", settings or {})
    )
    return SpanRules(prelabeler, parse_label_config(config, max_bytes=1 << 20))


def spans(rules: SpanRules, text: str) -> list[tuple[str, str]]:
    (answer,) = rules.predict([TaskInput(1, {"text": text})])
    assert isinstance(answer, PredictionOut)
    found = []
    for region in answer.result:
        value = region["value"]
        assert text[value["start"] : value["end"]] == value["text"]
        found.append((value["text"], value["labels"][0]))
    return found


def test_japanese_and_emoji_offsets_are_code_points():
    rules = backend({"rules": {"ORG": {"terms": ["トヨタ自動車"]}, "MONEY": {"patterns": [r"\d+万円"]}}})
    text = "📈🇯🇵 トヨタ自動車が300万円を払った"
    (answer,) = rules.predict([TaskInput(1, {"text": text})])
    values = [region["value"] for region in answer.result]
    assert [(v["start"], v["end"], v["labels"]) for v in values] == [(4, 10, ["ORG"]), (11, 16, ["MONEY"])]
    # Python's indices are code points: the flag is two, the chart one, as Label Studio counts them.
    assert text[4:10] == "トヨタ自動車" and text[11:16] == "300万円"


def test_the_longest_match_wins_where_rules_overlap():
    rules = backend({"rules": {"ORG": {"terms": ["Acme", "Acme Corp Holdings"]}, "PER": {"terms": ["Corp"]},
                               "MONEY": {"patterns": [r"Acme Corp"]}}})  # fmt: skip
    assert spans(rules, "Acme Corp Holdings and Acme Corp.") == [
        ("Acme Corp Holdings", "ORG"),
        ("Acme Corp", "MONEY"),
    ]


def test_choose_keeps_the_earliest_then_the_first_rule_among_equal_lengths():
    chosen = choose(
        [Candidate(2, 5, "B", 1), Candidate(0, 3, "A", 2), Candidate(0, 3, "C", 0), Candidate(5, 7, "D", 3)]
    )
    assert [(c.start, c.end, c.label) for c in chosen] == [(0, 3, "C"), (5, 7, "D")]


def test_terms_match_whole_words_in_spaced_scripts_and_anywhere_in_japanese():
    rules = backend({"rules": {"ORG": {"terms": ["Apple", "トヨタ"]}}})
    assert spans(rules, "Pineapple and Apple, Apples") == [("Apple", "ORG")]
    assert spans(rules, "新しいトヨタの車") == [("トヨタ", "ORG")]


def test_case_is_ignored_unless_asked():
    assert spans(backend({"rules": {"ORG": {"terms": ["acme"]}}}), "ACME and Acme") == [
        ("ACME", "ORG"),
        ("Acme", "ORG"),
    ]
    sensitive = backend({"rules": {"ORG": {"terms": ["acme"], "patterns": ["inc"]}}, "case_sensitive": True})
    assert spans(sensitive, "ACME Inc, acme inc") == [("acme", "ORG"), ("inc", "ORG")]


def test_a_gazetteer_labels_its_terms_japanese_included():
    gazetteer = "# term\tlabel\nトヨタ自動車\tORG\n\n山田 太郎\tPER\nGlobex\tORG\n"
    rules = backend({"gazetteer": gazetteer})
    assert spans(rules, "山田 太郎 joined Globex from トヨタ自動車.") == [
        ("山田 太郎", "PER"), ("Globex", "ORG"), ("トヨタ自動車", "ORG"),
    ]  # fmt: skip


def test_every_region_has_its_own_id_and_a_rerun_gives_the_same_ones():
    rules = backend({"rules": {"ORG": {"terms": ["Acme"]}}})
    first = rules.predict([TaskInput(1, {"text": "Acme, Acme"}), TaskInput(2, {"text": "Acme"})])
    ids = [region["id"] for answer in first for region in answer.result]
    assert len(ids) == len(set(ids)) == 3
    again = rules.predict([TaskInput(1, {"text": "Acme, Acme"}), TaskInput(2, {"text": "Acme"})])
    assert ids == [region["id"] for answer in again for region in answer.result]


def test_the_model_version_names_the_rules():
    one = backend({"rules": {"ORG": {"terms": ["Acme"]}}}).model_version()
    assert (
        one.startswith("span_rules:")
        and one == backend({"rules": {"ORG": {"terms": ["Acme"]}}}).model_version()
    )
    assert one != backend({"rules": {"ORG": {"terms": ["Acme", "Globex"]}}}).model_version()


def test_a_text_without_matches_gets_an_empty_result_and_odd_data_is_dropped(monkeypatch):
    rules = backend({"rules": {"ORG": {"terms": ["Acme"]}}})
    monkeypatch.setattr(span_rules, "TEXT_MAX_CHARS", 10)
    nothing, number, long = rules.predict(
        [TaskInput(1, {"text": "no match"}), TaskInput(2, {"text": 5}), TaskInput(3, {"text": "x" * 11})]
    )
    assert isinstance(nothing, PredictionOut) and nothing.result == []
    assert isinstance(number, Dropped) and "not text" in number.reason
    assert isinstance(long, Dropped) and "longer than 10" in long.reason


def test_a_catastrophic_pattern_is_stopped_by_its_timeout_and_drops_the_task(monkeypatch):
    monkeypatch.setattr(span_rules, "PATTERN_TIMEOUT_SECONDS", 0.05)
    rules = backend({"rules": {"ORG": {"patterns": [r"(a+)+$"]}, "PER": {"terms": ["Bob"]}}})
    slow, fine = rules.predict([TaskInput(1, {"text": "a" * 5000 + "!"}), TaskInput(2, {"text": "Bob"})])
    assert isinstance(slow, Dropped) and "(a+)+$" in slow.reason
    assert isinstance(fine, PredictionOut) and fine.result[0]["value"]["labels"] == ["PER"]


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"rules": {"ORG": {"patterns": ["ok", "(unclosed"]}}}, "settings.rules.ORG.patterns[1]"),
        ({"rules": {"ORG": {"patterns": ["x" * 501]}}}, "settings.rules.ORG.patterns[0]"),
        ({"rules": {"ORG": {"terms": "Acme"}}}, "settings.rules.ORG.terms"),
        ({"rules": []}, "settings.rules"),
        ({"gazetteer": "Acme ORG"}, "settings.gazetteer"),
        ({"case_sensitive": "maybe"}, "settings.case_sensitive"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(value, field):
    with pytest.raises(ApplicationError) as error:
        checked_settings("span_rules", value)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"rules": {"LOC": {"terms": ["Paris"]}}}, "settings.rules.LOC"),
        ({"gazetteer": "Paris\tLOC"}, "settings.gazetteer"),
        ({"from_name": "nope"}, "settings.from_name"),
        ({"to_name": "nope"}, "settings.to_name"),
    ],
)
def test_rules_must_fit_the_labels_control(labels_project, cast, value, field):
    with pytest.raises(ApplicationError) as error:
        create_prelabeler(
            project=labels_project, user=cast.users["manager"], backend="span_rules", settings=value
        )
    assert error.value.field == field
    assert not Prelabeler.objects.exists()


def test_span_rules_need_a_labels_control(make_project, cast):
    with pytest.raises(ApplicationError) as error:
        create_prelabeler(
            project=make_project(SENTIMENT_CONFIG), user=cast.users["manager"], backend="span_rules"
        )
    assert error.value.field == "backend"


def test_empty_rules_are_allowed_and_defaults_filled(labels_project, cast):
    prelabeler = create_prelabeler(project=labels_project, user=cast.users["manager"], backend="span_rules")
    assert prelabeler.settings == {
        "rules": {}, "from_name": None, "to_name": None, "case_sensitive": False, "gazetteer": "",
    }  # fmt: skip
