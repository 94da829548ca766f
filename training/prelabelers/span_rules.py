"""Span rules for NER: dictionaries (terms and a gazetteer) and regular expressions per label.

Offsets are Python string indices, which are code points: what Label Studio's Text object counts
(a kanji is one, an emoji outside the BMP is one). Where candidates overlap, the longest wins (then
the earliest, then the first rule), so "New York Times" beats "New York"; each region has an id of
its own, derived from the rules' version, the task, the offsets and the label, so a re-run gives
the same ids.

Terms are matched with a trie, one walk per start position, case folded character by character
(a character whose lower case is longer, as "İ", is kept as it is, so offsets never move). In
scripts written with spaces a term must start and end on a word boundary ("Apple" is not found in
"Pineapple"); in Japanese and Chinese, written without spaces, anywhere.

Regular expressions run on the ``regex`` module (a dependency of transformers) with a timeout, since
Python's ``re`` cannot be interrupted and a pattern such as ``(a+)+$`` backtracks for ever on a long
run of "a". The inputs are bounded too: patterns are at most PATTERN_MAX_CHARS long, compiled when
the settings are saved (a bad one is a 400 naming it), and a task's text over TEXT_MAX_CHARS is
dropped (counted) instead of scanned. A pattern that times out on a task drops that task, naming the
pattern; the job goes on.
"""

import hashlib
import json
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import regex  # type: ignore[import-untyped]
from django.utils.translation import gettext as _
from rest_framework import serializers

from annotation.label_config import TEXT_OBJECT_TAGS, ControlSpec
from training.prelabelers.base import Backend, BackendUnfit, Dropped, PredictionOut, TaskInput

PATTERN_MAX_CHARS = 500
PATTERNS_MAX = 200
TERM_MAX_CHARS = 200
TERMS_MAX = 100_000
GAZETTEER_MAX_CHARS = 5_000_000
TEXT_MAX_CHARS = 200_000
# Per pattern and task: a sane pattern scans 200,000 characters in milliseconds.
PATTERN_TIMEOUT_SECONDS = 1.0


def _compile(pattern: str, *, case_sensitive: bool) -> Any:
    return regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)


class SpanRuleSettings(serializers.Serializer):
    terms = serializers.ListField(
        child=serializers.CharField(max_length=TERM_MAX_CHARS, trim_whitespace=False),
        required=False,
        default=list,
        max_length=TERMS_MAX,
        help_text="Words or phrases labeled wherever they occur.",
    )
    patterns = serializers.ListField(
        child=serializers.CharField(max_length=PATTERN_MAX_CHARS, trim_whitespace=False),
        required=False,
        default=list,
        max_length=PATTERNS_MAX,
        help_text=f"Regular expressions (Python syntax, at most {PATTERN_MAX_CHARS} characters each); "
        "each match is a region.",
    )

    def validate_patterns(self, value: list[str]) -> list[str]:
        for index, pattern in enumerate(value):
            try:
                regex.compile(pattern)
            except (regex.error, OverflowError, RecursionError) as exc:
                # Keyed by the pattern's index, so the 400 names settings.rules.<label>.patterns[<index>].
                detail: Any = {index: [_("Not a valid regular expression: %(error)s.") % {"error": exc}]}
                raise serializers.ValidationError(detail) from exc
        return value


class SpanRulesSettings(serializers.Serializer):
    rules = serializers.DictField(
        child=SpanRuleSettings(),
        required=False,
        default=dict,
        help_text='Per label of the Labels control: {"terms": [...], "patterns": [...]}; may be empty.',
    )
    from_name = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The Labels control to fill; by default the config's first Labels control over a Text.",
    )
    to_name = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The Text object it labels; by default the control's first Text target.",
    )
    case_sensitive = serializers.BooleanField(required=False, default=False)
    gazetteer = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=GAZETTEER_MAX_CHARS,
        trim_whitespace=False,
        help_text="A gazetteer file's text: one 'term<TAB>label' per line (blank lines and lines "
        "starting with # are skipped).",
    )

    def validate_gazetteer(self, value: str) -> str:
        parse_gazetteer(value)
        return value


def parse_gazetteer(text: str) -> list[tuple[str, str, int]]:
    """(term, label, line number) for each line; a line without a tab is a 400 naming it."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        term, tab, label = line.partition("\t")
        term, label = term.strip(), label.strip()
        if not tab or not term or not label:
            raise serializers.ValidationError(
                _("Line %(number)s is not 'term<TAB>label'.") % {"number": number}
            )
        if len(term) > TERM_MAX_CHARS:
            raise serializers.ValidationError(
                _("Line %(number)s: the term is longer than %(limit)s characters.")
                % {"number": number, "limit": TERM_MAX_CHARS}
            )
        entries.append((term, label, number))
    if len(entries) > TERMS_MAX:
        raise serializers.ValidationError(
            _("The gazetteer holds more than %(limit)s terms.") % {"limit": TERMS_MAX}
        )
    return entries


@dataclass(frozen=True)
class Candidate:
    start: int
    end: int
    label: str
    order: int  # which rule found it: earlier rules win ties

    @property
    def length(self) -> int:
        return self.end - self.start


def _fold(character: str, *, case_sensitive: bool) -> str:
    if case_sensitive:
        return character
    lower = character.lower()
    return lower if len(lower) == 1 else character


def _spaced(character: str) -> bool:
    """A letter or digit of a script written with spaces between words (Latin, Greek, Cyrillic…)."""
    return character.isalnum() and ord(character) < 0x0530


class TermTrie:
    """Longest term at each start position, by walking a character trie."""

    END = ""  # no character is the empty string: the key that marks a term's end

    def __init__(self, *, case_sensitive: bool):
        self.case_sensitive = case_sensitive
        self.root: dict[str, Any] = {}
        self.size = 0

    def add(self, term: str, label: str, order: int) -> None:
        node = self.root
        for character in term:
            node = node.setdefault(_fold(character, case_sensitive=self.case_sensitive), {})
        # The first rule to name a term keeps it.
        if self.END not in node:
            node[self.END] = (label, order)
            self.size += 1

    def find(self, text: str) -> list[Candidate]:
        found = []
        folded = [_fold(character, case_sensitive=self.case_sensitive) for character in text]
        length = len(text)
        for start in range(length):
            if start and _spaced(text[start - 1]) and _spaced(text[start]):
                continue
            node = self.root
            best: tuple[int, tuple[str, int]] | None = None
            position = start
            while position < length:
                child = node.get(folded[position])
                if child is None:
                    break
                node = child
                position += 1
                if self.END in node and not (
                    position < length and _spaced(text[position - 1]) and _spaced(text[position])
                ):
                    best = (position, node[self.END])
            if best is not None:
                end, (label, order) = best
                found.append(Candidate(start, end, label, order))
        return found


def choose(candidates: list[Candidate]) -> list[Candidate]:
    """Non-overlapping candidates, longest first (then earliest, then the first rule), in text order."""
    chosen_starts: list[int] = []
    chosen: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (-c.length, c.start, c.order)):
        if candidate.length <= 0:
            continue
        index = bisect_left(chosen_starts, candidate.start)
        if index > 0 and chosen[index - 1].end > candidate.start:
            continue
        if index < len(chosen) and chosen[index].start < candidate.end:
            continue
        chosen_starts.insert(index, candidate.start)
        chosen.insert(index, candidate)
    return chosen


class PatternTimeout(Exception):
    pass


class SpanRules(Backend):
    name = "span_rules"
    learns = False
    batch_size = 256
    settings_serializer = SpanRulesSettings

    # ---- the config ------------------------------------------------------------------------------

    def _control(self) -> ControlSpec:
        wanted = self.settings.get("from_name")
        for control in self.schema.controls.values():
            if control.tag != "labels":
                continue
            if wanted is not None and control.name != wanted:
                continue
            if any(self._is_text(name) for name in control.to_names):
                return control
        if wanted is not None:
            raise BackendUnfit(
                _("%(name)s is not a Labels control over a Text object of this project.") % {"name": wanted},
                field="settings.from_name",
            )
        raise BackendUnfit(
            _("Span rules need a Labels control over a Text object in the label config."), field="backend"
        )

    def _is_text(self, name: str) -> bool:
        spec = self.schema.objects.get(name)
        return spec is not None and spec.tag in TEXT_OBJECT_TAGS

    @cached_property
    def control(self) -> ControlSpec:
        return self._control()

    @cached_property
    def to_name(self) -> str:
        wanted = self.settings.get("to_name")
        if wanted is not None:
            if wanted not in self.control.to_names or not self._is_text(wanted):
                raise BackendUnfit(
                    _("%(name)s is not a Text object that %(control)s labels.")
                    % {"name": wanted, "control": self.control.name},
                    field="settings.to_name",
                )
            return wanted
        return next(name for name in self.control.to_names if self._is_text(name))

    @cached_property
    def variable(self) -> str:
        return self.schema.objects[self.to_name].variable

    def check(self) -> None:
        labels = set(self.control.labels)
        self.to_name  # noqa: B018 - raises BackendUnfit for a bad to_name
        for label in self.settings.get("rules") or {}:
            if label not in labels:
                raise BackendUnfit(
                    _("%(label)s is not a label of %(control)s (its labels: %(labels)s).")
                    % {
                        "label": label,
                        "control": self.control.name,
                        "labels": ", ".join(self.control.labels),
                    },
                    field=f"settings.rules.{label}",
                )
        for _term, label, number in parse_gazetteer(self.settings.get("gazetteer") or ""):
            if label not in labels:
                raise BackendUnfit(
                    _("Line %(number)s: %(label)s is not a label of %(control)s.")
                    % {"number": number, "label": label, "control": self.control.name},
                    field="settings.gazetteer",
                )

    # ---- matching ----------------------------------------------------------------------------------

    @cached_property
    def _trie(self) -> TermTrie:
        trie = TermTrie(case_sensitive=bool(self.settings.get("case_sensitive")))
        order = 0
        for label, rule in (self.settings.get("rules") or {}).items():
            for term in rule.get("terms") or []:
                if term.strip():
                    trie.add(term.strip(), label, order)
                order += 1
        for term, label, _number in parse_gazetteer(self.settings.get("gazetteer") or ""):
            trie.add(term, label, order)
            order += 1
        return trie

    @cached_property
    def _patterns(self) -> list[tuple[str, str, Any, int]]:
        case_sensitive = bool(self.settings.get("case_sensitive"))
        compiled = []
        # Patterns come after every term in order: a term and a pattern matching the same span, the term's label.
        order = TERMS_MAX * 2
        for label, rule in (self.settings.get("rules") or {}).items():
            for pattern in rule.get("patterns") or []:
                compiled.append((label, pattern, _compile(pattern, case_sensitive=case_sensitive), order))
                order += 1
        return compiled

    def spans(self, text: str) -> list[Candidate]:
        """The chosen spans of one text; PatternTimeout when a pattern runs past its time."""
        candidates = self._trie.find(text) if self._trie.size else []
        for label, pattern, compiled, order in self._patterns:
            try:
                for match in compiled.finditer(text, timeout=PATTERN_TIMEOUT_SECONDS):
                    if match.end() > match.start():
                        candidates.append(Candidate(match.start(), match.end(), label, order))
            except TimeoutError as exc:
                raise PatternTimeout(pattern) from exc
        return choose(candidates)

    def model_version(self) -> str:
        keys = ("rules", "gazetteer", "case_sensitive", "from_name", "to_name")
        rules = json.dumps({key: self.settings.get(key) for key in keys}, sort_keys=True, ensure_ascii=False)
        return "span_rules:" + hashlib.sha256(rules.encode()).hexdigest()[:12]

    def predict(self, tasks: list[TaskInput]) -> list[PredictionOut | Dropped]:
        version = self.model_version()
        answers: list[PredictionOut | Dropped] = []
        for task in tasks:
            text = task.data.get(self.variable)
            if not isinstance(text, str):
                answers.append(Dropped(task.id, f"data.{self.variable} is not text"))
                continue
            if len(text) > TEXT_MAX_CHARS:
                answers.append(
                    Dropped(task.id, f"data.{self.variable} is longer than {TEXT_MAX_CHARS} characters")
                )
                continue
            try:
                spans = self.spans(text)
            except PatternTimeout as timeout:
                answers.append(
                    Dropped(task.id, f"the pattern {str(timeout)[:100]!r} ran past its time limit")
                )
                continue
            answers.append(
                PredictionOut(task.id, [self._region(task.id, text, span, version) for span in spans])
            )
        return answers

    def _region(self, task_id: int, text: str, span: Candidate, version: str) -> dict[str, Any]:
        key = f"{version}:{task_id}:{span.start}:{span.end}:{span.label}"
        return {
            "id": hashlib.sha256(key.encode()).hexdigest()[:10],
            "from_name": self.control.name,
            "to_name": self.to_name,
            "type": "labels",
            "value": {"start": span.start, "end": span.end, "text": text[span.start : span.end],
                      "labels": [span.label]},
        }  # fmt: skip
