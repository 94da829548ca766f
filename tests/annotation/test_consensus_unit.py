"""Consensus per control kind, ties flagged."""

from annotation.quality.agreement import Rater
from annotation.quality.consensus import control_consensus
from annotation.quality.values import CHOICES, LABELS, NUMBER, PAIRWISE, RATING, TEXTAREA


def _raters(*values):
    return [Rater(index + 1, 100 + index, value) for index, value in enumerate(values)]


def test_single_choice_majority_and_tie():
    done = control_consensus(CHOICES, "c", "choices", "t", _raters(("a",), ("a",), ("b",)))
    assert done.value == ("a",) and not done.tie
    assert done.regions[0]["value"] == {"choices": ["a"]} and done.regions[0]["from_name"] == "c"
    tie = control_consensus(CHOICES, "c", "choices", "t", _raters(("a",), ("b",)))
    assert tie.value is None and tie.tie and tie.regions == []


def test_multiple_choices_keep_options_with_a_strict_majority():
    done = control_consensus(CHOICES, "c", "choices", "t", _raters(("a", "b"), ("a",), ("a", "c")))
    assert done.value == ("a",) and not done.tie
    tie = control_consensus(CHOICES, "c", "choices", "t", _raters(("a", "b"), ("a",)))
    assert tie.value == ("a",) and tie.tie


def test_span_vote_needs_a_strict_majority_on_same_offsets_and_label():
    a = frozenset({(0, 5, "PER"), (10, 12, "ORG")})
    b = frozenset({(0, 5, "PER"), (10, 13, "ORG")})
    c = frozenset({(0, 5, "PER")})
    done = control_consensus(LABELS, "ner", "labels", "text", _raters(a, b, c))
    assert done.value == frozenset({(0, 5, "PER")}) and not done.tie
    assert done.regions[0]["value"] == {"start": 0, "end": 5, "labels": ["PER"]}
    tie = control_consensus(LABELS, "ner", "labels", "text", _raters(a, c))
    assert tie.tie and tie.value == frozenset({(0, 5, "PER")})


def test_ratings_take_median_and_mean():
    done = control_consensus(RATING, "r", "rating", "t", _raters(1.0, 2.0, 5.0))
    assert done.value == 2.0
    assert done.regions[0]["value"] == {"rating": 2.0}
    assert done.regions[0]["meta"] == {"mean": 8 / 3, "median": 2.0}
    assert control_consensus(NUMBER, "n", "number", "t", _raters(1.0, 2.0)).value == 1.5


def test_pairwise_majority_side_and_tie():
    assert control_consensus(PAIRWISE, "p", "pairwise", "p", _raters("left", "left", "right")).value == "left"
    assert control_consensus(PAIRWISE, "p", "pairwise", "p", _raters("left", "right")).tie


def test_free_text_only_with_a_best_annotation():
    raters = _raters(("one",), ("two",))
    assert control_consensus(TEXTAREA, "x", "textarea", "t", raters).value is None
    best = [{"from_name": "x", "to_name": "t", "type": "textarea", "value": {"text": ["two"]}}]
    picked = control_consensus(TEXTAREA, "x", "textarea", "t", raters, best_annotation_id=2, best_result=best)
    assert picked.value == ("two",) and picked.regions[0]["value"] == {"text": ["two"]}
