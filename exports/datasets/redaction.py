"""Redaction step: personal data in the task text and in the annotations' text replaced by placeholders.

Kinds: e-mail addresses, phone numbers (international, North American, Japanese), card numbers (13 to
19 digits, Luhn-checked), account numbers (IBAN with its mod-97 check, and digits that follow an
explicit "口座番号" / "account number"), IP addresses (v4 and v6, validated), Japanese addresses (〒
postal codes, and a prefecture, a city, ward, town or village and block numbers such as
東京都千代田区千代田1-1) and My Number style ids (12 digits, with the check digit validated), plus the
project's own regular expressions. Full-width digits (０-９) and the hyphens Japanese text uses
(－ ー ‐ −) count as digits and hyphens, so "０９０－１２３４－５６７８" is a phone number.

Each match becomes a placeholder ("[EMAIL]", "[PHONE]", ...), so the text's length changes: a span
region's offsets are moved with it (an offset inside a redacted run moves to the placeholder's edge,
so a span that covered part of a phone number now covers all of "[PHONE]"), and the region's "text"
is read again from the redacted task text, keeping ``text[start:end] == region text``. Offsets are
Python string indices (code points), what the rest of the export code counts. Text answers (TextArea)
and regions whose offsets do not match the task text are redacted on their own.

The detectors are conservative: a pattern is accepted only where its shape and its check (Luhn,
mod-97, the My Number check digit, octets up to 255, the digit count of a phone number) hold, since a
false positive destroys data that a training run needed. Where two matches overlap, the one that starts
first wins; at the same start the longer, then the earlier kind in KINDS, then the project's patterns
in their order.

The project's patterns run on the ``regex`` module with a timeout per text, since Python's ``re``
cannot be interrupted and a pattern such as ``(a+)+$`` backtracks for ever on a long run of "a"; they
are at most PATTERN_MAX_CHARS long and compiled when the recipe is checked (a bad one is a 400 on
"redact"). A pattern that runs past its time fails the build, naming the pattern, rather than leaving
the text unredacted.
"""

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import regex  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.datasets.steps import CurationStep, StepReport
from tessera.errors import ApplicationError

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "account": "[ACCOUNT]",
    "ip": "[IP]",
    "jp_address": "[ADDRESS]",
    "my_number": "[MY_NUMBER]",
}
KINDS = tuple(PLACEHOLDERS)
CUSTOM = "custom"
CUSTOM_PLACEHOLDER = "[REDACTED]"
PATTERN_MAX_CHARS = 500
PATTERNS_MAX = 50
# Per pattern and text: a sane pattern scans a long task text in milliseconds.
PATTERN_TIMEOUT_SECONDS = 1.0

_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_D = "[0-9０-９]"
_HY = "[-－ー‐−–]"
_SP = "[ \u3000]"
_SEP = f"(?:{_SP}|{_HY})"
_NOT_D_AFTER = f"(?!{_D})"
# Not part of a longer group of digits ("4111 1111 1111 1111" holds no 12-digit id); the pattern looks
# behind its first digit for the digits before it.
_NOT_GROUPED_AFTER = f"(?!{_SEP}?{_D})"

_PREFECTURE_NAMES = (
    "北海道",
    "東京都",
    "大阪府",
    "京都府",
    *(
        f"{name}県"
        for name in (
            "青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|神奈川|新潟|富山|石川|福井|山梨|長野|岐阜|静岡"
            "|愛知|三重|滋賀|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島|香川|愛媛|高知|福岡|佐賀|長崎|熊本|大分"
            "|宮崎|鹿児島|沖縄"
        ).split("|")
    ),
)
# A place name: no spaces, punctuation or digits (the block numbers come after it).
_PLACE_CHAR = r"[^\s、。，,．.()（）「」『』【】〒0-9０-９]"
_BLOCK_NUMBER = f"(?:{_D}{{1,4}}|[一二三四五六七八九十〇]{{1,3}})"
# What follows the prefecture's name.
_JP_ADDRESS_REST = (
    f"{_SP}?(?:{_PLACE_CHAR}{{1,8}}?[市区町村郡]){{1,3}}{_PLACE_CHAR}{{0,10}}?"
    f"(?:{_BLOCK_NUMBER}(?:丁目|番地?|{_HY}){_BLOCK_NUMBER}(?:(?:番地?|{_HY}){_BLOCK_NUMBER}号?)?(?:号)?"
    # Sapporo's grid: 北1条西2丁目
    f"|{_BLOCK_NUMBER}条[東西南北]?{_BLOCK_NUMBER}丁目(?:{_BLOCK_NUMBER}(?:番地?|{_HY}){_BLOCK_NUMBER}?号?)?)"
)
_JP_ADDRESS = f"(?:{'|'.join(_PREFECTURE_NAMES)}){_JP_ADDRESS_REST}"
_JP_POSTAL = f"〒{_SP}?{_D}{{3}}{_HY}?{_D}{{4}}{_NOT_D_AFTER}"
# Any one character, for a lookbehind that looks past the character a pattern has just read. The
# built-in patterns read their first character before they look behind it ("[+＋](?<![A-Za-z0-9+]_ANY)"
# rather than "(?<![A-Za-z0-9+])[+＋]"), the same matches: a pattern that opens with a character class
# lets the regular expression engine skip in C to where a match can start, where one that opens with a
# lookbehind is tried at every position of the window. That and the prefectures listed one by one were
# a third of this step's time. tests/exports/test_dataset_redaction.py checks the matches against the
# patterns as first written.
_ANY = r"[\s\S]"


def _digits(text: str) -> str:
    return "".join(char for char in text.translate(_FULL_WIDTH_DIGITS) if char.isascii() and char.isdigit())


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def my_number_check_digit(first_eleven: str) -> int:
    """The check digit of a 12-digit individual number (マイナンバー), per the Cabinet Office ordinance.

    P(n) is the n-th digit counted from the right of the first eleven, Q(n) = n + 1 for n <= 6 and
    n - 5 above; the check digit is 11 - (sum P(n)Q(n) mod 11), or 0 when the remainder is 0 or 1.
    """
    total = 0
    for n, char in enumerate(reversed(first_eleven), start=1):
        total += int(char) * (n + 1 if n <= 6 else n - 5)
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def _is_my_number(match: re.Match) -> bool:
    digits = _digits(match.group())
    return len(digits) == 12 and my_number_check_digit(digits[:11]) == int(digits[11])


def _is_card(match: re.Match) -> bool:
    digits = _digits(match.group())
    return 13 <= len(digits) <= 19 and _luhn_valid(digits)


def _is_phone(match: re.Match) -> bool:
    text = match.group()
    digits = _digits(text)
    if text.startswith("+"):
        # E.164: a country code and at most 15 digits in all.
        return 8 <= len(digits) <= 15
    if digits.startswith("0"):
        # Japanese numbers are 10 digits (landlines, 0120) or 11 (mobiles, 050): written without any
        # separator only a mobile's 0X0 prefix makes 11 digits a phone number rather than some id.
        has_separator = len(digits) != len(text)
        return len(digits) in (10, 11) and (has_separator or (len(digits) == 11 and digits[2] == "0"))
    # North American: area code and exchange do not start with 0 or 1.
    return len(digits) == 10 and digits[0] not in "01" and digits[3] not in "01"


def _is_iban(match: re.Match) -> bool:
    compact = match.group().replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _is_ipv4(match: re.Match) -> bool:
    return all(int(octet) <= 255 for octet in match.group().split("."))


def _is_ipv6(match: re.Match) -> bool:
    candidate = match.group()
    if sum(char.isalnum() for char in candidate) < 2:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Detector:
    kind: str
    pattern: re.Pattern
    # Accepts or rejects a match of the pattern (a check digit, a range); None accepts every match.
    check: Callable[[re.Match], bool] | None = None
    # The group that is redacted, when the pattern matches context around it ("口座番号: 1234567").
    group: str | None = None
    # The pattern runs only around these characters (digits when empty): from ``before`` characters
    # ahead of the first one to ``after`` characters past the last one, enough for any match it can
    # make. Most texts hold no digit, no "@" and no prefecture, and a regular expression that starts
    # with a lookbehind is tried at every position: scanning a window instead is what makes this step
    # fast. (A lookbehind still sees the text before the window; a lookahead stops at its end, which is
    # why ``after`` covers what a match can hold past its last anchor.)
    anchors: str = ""
    before: int = 64
    after: int = 64


_DETECTORS: dict[str, tuple[Detector, ...]] = {
    "email": (
        Detector(
            "email",
            re.compile(
                rf"[A-Za-z0-9](?<![A-Za-z0-9._%+-]{_ANY})[A-Za-z0-9._%+-]{{0,63}}@"
                r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*"
                r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
            ),
            # A local part is at most 64 characters, a domain at most 253.
            anchors="@",
            before=65,
            after=256,
        ),
    ),
    "phone": (
        # +81 90-1234-5678, +1 (415) 555-2671, +44 20 7946 0958
        Detector(
            "phone",
            re.compile(
                rf"[+＋](?<![A-Za-z0-9+]{_ANY}){_D}{{1,3}}(?:[ \u3000.]?{_HY}?[ \u3000]?\(?{_D}{{1,4}}\)?){{2,5}}{_NOT_D_AFTER}"
            ),
            _is_phone,
        ),
        # 03-1234-5678, 090-1234-5678, 0120-123-456, (03) 1234-5678, 03(1234)5678, 09012345678
        Detector(
            "phone",
            re.compile(
                rf"[(（0０](?<!{_D}{_ANY})(?:(?<=[(（])[0０]{_D}{{1,4}}[)）]{_SP}?|(?<=[0０]){_D}{{1,4}}{_SEP}?)"
                rf"(?:{_D}{{1,4}}{_SEP}?|{_D}{{1,4}}[(（]|[(（]{_D}{{1,4}}[)）])?{_D}{{3,4}}{_NOT_D_AFTER}"
            ),
            _is_phone,
        ),
        # (415) 555-2671, 415-555-2671, 415.555.2671
        Detector(
            "phone",
            re.compile(
                rf"[(\d](?<![A-Za-z0-9]{_ANY})(?:(?<=\()\d{{3}}\) ?|(?<=\d)\d{{2}}[-. ])\d{{3}}[-. ]\d{{4}}(?!\d)"
            ),
            _is_phone,
        ),
    ),
    "card": (
        Detector(
            "card",
            re.compile(rf"{_D}(?<!{_D}{_ANY})(?:{_SEP}?{_D}){{12,18}}{_NOT_D_AFTER}"),
            _is_card,
        ),
    ),
    "account": (
        Detector(
            "account",
            re.compile(
                rf"[A-Z](?<![A-Za-z0-9]{_ANY})[A-Z][0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?(?![A-Za-z0-9])"
            ),
            _is_iban,
        ),
        # Bank account numbers have no check of their own: only digits after an explicit label count.
        Detector(
            "account",
            re.compile(
                rf"(?-i:[口aA])(?:(?<=口)(?:座番号|座)|(?<=a)(?:ccount\s*(?:number|no\.?|#)|cct\.?\s*(?:no\.?|#)?))"
                rf"\s*[:：は]?\s*"
                rf"(?:(?:普通|当座|貯蓄)(?:預金)?{_SP}*)?(?P<number>{_D}(?:{_SEP}?{_D}){{5,16}}){_NOT_D_AFTER}",
                re.IGNORECASE,
            ),
            group="number",
        ),
    ),
    "ip": (
        Detector(
            "ip",
            re.compile(
                rf"[0-9](?<![0-9.]{_ANY})[0-9]{{0,2}}\.(?:[0-9]{{1,3}}\.){{2}}[0-9]{{1,3}}(?![0-9]|\.[0-9])"
            ),
            _is_ipv4,
        ),
        Detector(
            "ip",
            re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])"),
            _is_ipv6,
            anchors=":",
            before=40,
            after=40,
        ),
    ),
    "jp_address": (
        Detector(
            "jp_address",
            re.compile(
                "|".join(
                    [f"{_JP_POSTAL}(?:{_SP}*{_JP_ADDRESS})?"]
                    + [f"{name}{_JP_ADDRESS_REST}" for name in _PREFECTURE_NAMES]
                )
            ),
            # Every address starts with 〒 or a prefecture, whose name ends in one of 都道府県 and starts
            # at most three characters before it (神奈川県); 一丁目 holds no digit.
            anchors="〒都道府県",
            before=3,
            after=160,
        ),
    ),
    "my_number": (
        Detector(
            "my_number",
            re.compile(
                rf"{_D}(?<!{_D}{_ANY})(?<!{_D}{_SEP}{_ANY})(?:{_D}{{11}}|{_D}{{3}}{_SP}{_D}{{4}}{_SP}{_D}{{4}}"
                rf"|{_D}{{3}}{_HY}{_D}{{4}}{_HY}{_D}{{4}}){_NOT_GROUPED_AFTER}"
            ),
            _is_my_number,
        ),
    ),
}
# One character class per set of anchors (digits for the empty set), searched in C.
_ANCHOR_PATTERNS = {
    anchors: re.compile(f"[{re.escape(anchors)}]" if anchors else _D)
    for anchors in {detector.anchors for detectors in _DETECTORS.values() for detector in detectors}
}


def _anchor_span(text: str, anchors: str) -> tuple[int, int] | None:
    """Where the first and the last of ``anchors`` (digits when empty) are in ``text``, if anywhere."""
    pattern = _ANCHOR_PATTERNS[anchors]
    first = pattern.search(text)
    if first is None:
        return None
    # The last one is the first of the reversed text: one scan in C, where a greedy ".*" followed by
    # the class backtracks one character at a time and a find per anchor is a Python call each.
    last = pattern.search(text[::-1])
    assert last is not None
    return first.start(), len(text) - 1 - last.start()


@dataclass(frozen=True)
class RedactionSpec:
    kinds: tuple[str, ...]
    patterns: tuple[str, ...]


def _compile_pattern(pattern: object, index: int) -> Any:
    if not isinstance(pattern, str) or not pattern:
        raise ApplicationError(
            _("Redaction pattern %(index)s must be a non-empty string.") % {"index": index},
            field="redact",
            code="invalid_pattern",
        )
    if len(pattern) > PATTERN_MAX_CHARS:
        raise ApplicationError(
            _("Redaction pattern %(index)s is longer than %(max)s characters.")
            % {"index": index, "max": PATTERN_MAX_CHARS},
            field="redact",
            code="invalid_pattern",
        )
    try:
        return regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as exc:
        raise ApplicationError(
            _("Redaction pattern %(index)s is not a valid regular expression: %(error)s.")
            % {"index": index, "error": exc},
            field="redact",
            code="invalid_pattern",
        ) from exc


def parse_redact(value: object) -> RedactionSpec:
    """The recipe's ``redact``: a list of kinds (KINDS) and ``{"pattern": "<regular expression>"}`` objects."""
    if value is None:
        return RedactionSpec(kinds=(), patterns=())
    if not isinstance(value, list | tuple):
        raise ApplicationError(
            _('"redact" must be a list of kinds and {"pattern": …} objects.'), field="redact", code="invalid"
        )
    kinds: list[str] = []
    patterns: list[str] = []
    for entry in value:
        if isinstance(entry, dict) and set(entry) == {"pattern"}:
            _compile_pattern(entry["pattern"], len(patterns))
            patterns.append(entry["pattern"])
        elif isinstance(entry, str) and entry in PLACEHOLDERS:
            if entry not in kinds:
                kinds.append(entry)
        else:
            raise ApplicationError(
                _('Unknown redaction kind: %(kind)s. Known kinds: %(kinds)s, or {"pattern": …}.')
                % {"kind": str(entry)[:100], "kinds": ", ".join(KINDS)},
                field="redact",
                code="unknown_kind",
            )
    if len(patterns) > PATTERNS_MAX:
        raise ApplicationError(
            _("At most %(max)s redaction patterns.") % {"max": PATTERNS_MAX}, field="redact", code="too_many"
        )
    return RedactionSpec(kinds=tuple(kinds), patterns=tuple(patterns))


@dataclass(frozen=True)
class Replacement:
    start: int
    end: int
    new_start: int
    new_end: int


class OffsetMap:
    """Moves offsets in a text to the same place in its redacted text."""

    def __init__(self, replacements: Sequence[Replacement]):
        self._replacements = replacements
        self._starts = [replacement.start for replacement in replacements]

    def start(self, offset: int) -> int:
        index = bisect_right(self._starts, offset) - 1
        if index < 0:
            return offset
        replacement = self._replacements[index]
        if offset < replacement.end:
            return replacement.new_start
        return offset + replacement.new_end - replacement.end

    def end(self, offset: int) -> int:
        # An end offset equal to a replacement's start stays before it: bisect on offset - 1.
        index = bisect_right(self._starts, offset - 1) - 1
        if index < 0:
            return offset
        replacement = self._replacements[index]
        if offset <= replacement.end:
            return replacement.new_end
        return offset + replacement.new_end - replacement.end


class Redactor:
    def __init__(self, kinds: Sequence[str], patterns: Sequence[str] = ()):
        spec = parse_redact([*kinds, *({"pattern": pattern} for pattern in patterns)])
        self.kinds = spec.kinds
        self._detectors = [detector for kind in spec.kinds for detector in _DETECTORS[kind]]
        self._patterns = [
            (pattern, _compile_pattern(pattern, index)) for index, pattern in enumerate(spec.patterns)
        ]

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, kind) in text order."""
        candidates: list[tuple[int, int, int, str]] = []
        windows: dict[str, tuple[int, int] | None] = {}
        for order, detector in enumerate(self._detectors):
            if detector.anchors not in windows:
                windows[detector.anchors] = _anchor_span(text, detector.anchors)
            anchor_span = windows[detector.anchors]
            if anchor_span is None:
                continue
            first, last = anchor_span
            start_at = max(0, first - detector.before)
            end_at = min(len(text), last + 1 + detector.after)
            for match in detector.pattern.finditer(text, start_at, end_at):
                if detector.check is not None and not detector.check(match):
                    continue
                start, end = match.span(detector.group) if detector.group else match.span()
                if end > start:
                    candidates.append((start, end, order, detector.kind))
        order = len(self._detectors)
        for pattern, compiled in self._patterns:
            try:
                for match in compiled.finditer(text, timeout=PATTERN_TIMEOUT_SECONDS):
                    if match.end() > match.start():
                        candidates.append((match.start(), match.end(), order, CUSTOM))
            except TimeoutError as exc:
                raise ApplicationError(
                    _("Redaction pattern %(pattern)s ran longer than %(seconds)s s on one text.")
                    % {"pattern": pattern[:100], "seconds": PATTERN_TIMEOUT_SECONDS},
                    field="redact",
                    code="pattern_timeout",
                ) from exc
            order += 1
        # Longest first at each start, then the earlier detector; a match overlapping a chosen one loses.
        candidates.sort(key=lambda candidate: (candidate[0], candidate[0] - candidate[1], candidate[2]))
        chosen: list[tuple[int, int, str]] = []
        for start, end, _order, kind in candidates:
            if chosen and start < chosen[-1][1]:
                continue
            chosen.append((start, end, kind))
        return chosen

    def redact(self, text: str, counts: dict[str, int]) -> tuple[str, list[Replacement]]:
        """The redacted text and where each replacement went; adds each match to ``counts``."""
        matches = self.find(text)
        if not matches:
            return text, []
        parts: list[str] = []
        replacements: list[Replacement] = []
        position = 0
        length = 0
        for start, end, kind in matches:
            parts.append(text[position:start])
            length += start - position
            placeholder = PLACEHOLDERS.get(kind, CUSTOM_PLACEHOLDER)
            parts.append(placeholder)
            replacements.append(Replacement(start, end, length, length + len(placeholder)))
            length += len(placeholder)
            position = end
            counts[kind] = counts.get(kind, 0) + 1
        parts.append(text[position:])
        return "".join(parts), replacements


def _redact_nested(value: Any, redactor: Redactor, counts: dict[str, int]) -> Any:
    """Every string inside lists and objects (a Paragraphs dialogue), redacted."""
    if isinstance(value, str):
        return redactor.redact(value, counts)[0]
    if isinstance(value, list):
        return [_redact_nested(entry, redactor, counts) for entry in value]
    if isinstance(value, dict):
        return {key: _redact_nested(entry, redactor, counts) for key, entry in value.items()}
    return value


def _object_variables(controls: dict) -> dict[str, str]:
    """Object name -> the task data key it reads, from LabelSchema.summary()."""
    variables = {}
    for control in controls.values():
        for name, source in zip(control.get("to_name") or [], control.get("inputs") or [], strict=False):
            variables[name] = source.get("value", "")
    return variables


@dataclass
class _RedactedField:
    original: str
    redacted: str
    offsets: OffsetMap


class _ItemRedaction:
    def __init__(self, redactor: Redactor, variables: dict[str, str], counts: dict[str, int]):
        self.redactor = redactor
        self.variables = variables
        self.counts = counts
        self.fields: dict[str, _RedactedField] = {}

    def data(self, data: dict, text_fields: frozenset[str] | None) -> dict:
        redacted = {}
        for key, value in data.items():
            if text_fields is not None and key not in text_fields:
                redacted[key] = value
            elif isinstance(value, str):
                new_value, replacements = self.redactor.redact(value, self.counts)
                # Kept even when nothing was replaced: a span region over this text then needs no scan.
                self.fields[key] = _RedactedField(value, new_value, OffsetMap(replacements))
                redacted[key] = new_value
            else:
                redacted[key] = _redact_nested(value, self.redactor, self.counts)
        return redacted

    def result(self, result: list[dict]) -> list[dict]:
        return [self._region(region) for region in result]

    def _region(self, region: dict) -> dict:
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict) or "text" not in value:
            return region
        text = value["text"]
        field = self.fields.get(self.variables.get(region.get("to_name", ""), ""))
        start, end = value.get("start"), value.get("end")
        spans_field = (
            field is not None
            and isinstance(text, str)
            and type(start) is int
            and type(end) is int
            and field.original[start:end] == text
        )
        if spans_field and field is not None and field.redacted is field.original:
            # Nothing was replaced in this text: the region stays as it is (what the offsets and text
            # below would give, without building them).
            return region
        if spans_field and field is not None and isinstance(start, int) and isinstance(end, int):
            new_start, new_end = field.offsets.start(start), field.offsets.end(end)
            new_value = {
                **value,
                "start": new_start,
                "end": new_end,
                "text": field.redacted[new_start:new_end],
            }
        else:
            # A text answer, or a region whose offsets do not point at the task text as we have it.
            new_value = {**value, "text": _redact_nested(text, self.redactor, self.counts)}
        if new_value == value:
            return region
        return {**region, "value": new_value}


def redact_step(
    kinds: Sequence[str], patterns: Sequence[str] = (), text_fields: Iterable[str] | None = None
) -> CurationStep:
    """Redact ``kinds`` and ``patterns`` in the items' data (only ``text_fields`` if given) and results."""
    redactor = Redactor(kinds, patterns)
    fields = frozenset(text_fields) if text_fields is not None else None

    def step(
        items: Iterable[DatasetItem], context: DatasetContext, report: StepReport
    ) -> Iterator[DatasetItem]:
        counts: dict[str, int] = {kind: 0 for kind in redactor.kinds}
        if patterns:
            counts[CUSTOM] = 0
        report.details.update(counts)
        variables = _object_variables(context.controls)
        for item in items:
            matched_before = sum(counts.values())
            redaction = _ItemRedaction(redactor, variables, counts)
            data = redaction.data(item.data, fields)
            result = redaction.result(item.result)
            # The chosen annotation's result is usually the item's own: redacted once (a second pass
            # cost the time again and counted its matches twice).
            annotations = [
                ItemAnnotation(
                    id=annotation.id,
                    completed_by=annotation.completed_by,
                    result=result
                    if annotation.result is item.result
                    else redaction.result(annotation.result),
                )
                for annotation in item.annotations
            ]
            # Every change starts with a match (a region only moves when its text was redacted).
            if sum(counts.values()) == matched_before:
                yield item
                continue
            report.changed += 1
            report.details.update(counts)
            yield DatasetItem(
                task_id=item.task_id, data=data, result=result, annotations=annotations, split=item.split
            )
        report.details.update(counts)

    return step
