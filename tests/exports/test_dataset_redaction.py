"""Redaction step on fixtures with known answers, Japanese included; span offsets stay valid."""

import copy
import random
import re

import pytest

from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.datasets.redaction import (
    KINDS,
    OffsetMap,
    Redactor,
    Replacement,
    my_number_check_digit,
    parse_redact,
    redact_step,
)
from exports.datasets.steps import StepReport
from tessera.errors import ApplicationError

# 12345678901 has the check digit 8: sum of P(n)Q(n) = 113, 113 mod 11 = 3, 11 - 3 = 8.
MY_NUMBER = "123456789018"
MY_NUMBER_BAD = "123456789019"
CONTROLS = {
    "label": {
        "type": "Labels",
        "to_name": ["text"],
        "inputs": [{"type": "Text", "value": "text"}],
        "labels": ["PER", "PHONE"],
    },
    "answer": {
        "type": "TextArea",
        "to_name": ["text"],
        "inputs": [{"type": "Text", "value": "text"}],
        "labels": [],
    },
}
CONTEXT = DatasetContext(project_id=1, controls=CONTROLS, data_variables=("text",))


def redacted(text: str, kinds=KINDS, patterns=()) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    return Redactor(kinds, patterns).redact(text, counts)[0], counts


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("mail taro.yamada+x@example.co.jp today", "mail [EMAIL] today", "email"),
        ("連絡先はhanako@example.comです", "連絡先は[EMAIL]です", "email"),
        ("tel 03-1234-5678.", "tel [PHONE].", "phone"),
        ("携帯090-1234-5678まで", "携帯[PHONE]まで", "phone"),
        ("携帯は０９０－１２３４－５６７８です", "携帯は[PHONE]です", "phone"),
        ("電話 (03) 1234-5678", "電話 [PHONE]", "phone"),
        ("フリーダイヤル0120-123-456", "フリーダイヤル[PHONE]", "phone"),
        ("mobile 09012345678", "mobile [PHONE]", "phone"),
        ("call +81 90-1234-5678 or +1 (415) 555-2671", "call [PHONE] or [PHONE]", "phone"),
        ("office +44 20 7946 0958", "office [PHONE]", "phone"),
        ("US (415) 555-2671", "US [PHONE]", "phone"),
        ("visa 4111 1111 1111 1111 exp", "visa [CARD] exp", "card"),
        ("amex 3782-822463-10005", "amex [CARD]", "card"),
        ("ｶｰﾄﾞ ４１１１１１１１１１１１１１１１", "ｶｰﾄﾞ [CARD]", "card"),
        ("IBAN GB82 WEST 1234 5698 7654 32", "IBAN [ACCOUNT]", "account"),
        ("IBAN DE89370400440532013000.", "IBAN [ACCOUNT].", "account"),
        ("口座番号：普通 1234567", "口座番号：普通 [ACCOUNT]", "account"),
        ("Account number: 12345678", "Account number: [ACCOUNT]", "account"),
        ("host 192.168.0.1, v6 2001:db8::1", "host [IP], v6 [IP]", "ip"),
        ("〒100-0001 東京都千代田区千代田1-1", "[ADDRESS]", "jp_address"),
        ("〒１００－０００１に送る", "[ADDRESS]に送る", "jp_address"),
        ("住所は東京都千代田区千代田1-1です", "住所は[ADDRESS]です", "jp_address"),
        ("本社：神奈川県横浜市西区みなとみらい二丁目3-1、", "本社：[ADDRESS]、", "jp_address"),
        ("大阪府大阪市北区梅田３－１－１", "[ADDRESS]", "jp_address"),
        ("北海道札幌市中央区北1条西2丁目", "[ADDRESS]", "jp_address"),
        (f"番号は{MY_NUMBER}です", "番号は[MY_NUMBER]です", "my_number"),
        ("番号 1234 5678 9018", "番号 [MY_NUMBER]", "my_number"),
        ("番号 1234-5678-9018", "番号 [MY_NUMBER]", "my_number"),
        ("番号 １２３４－５６７８－９０１８", "番号 [MY_NUMBER]", "my_number"),
    ],
)
def test_each_kind_is_found(text, expected, kind):
    assert redacted(text) == (expected, {kind: expected.count("[") - text.count("[")})


@pytest.mark.parametrize(
    "text",
    [
        f"番号は{MY_NUMBER_BAD}です",  # a wrong check digit
        "card 4111 1111 1111 1112",  # fails Luhn, and holds no 12-digit id either
        "on 2024-01-15 at 12:30:45, version 1.2.3",
        "the ratio 999.1.1.1 is not an address",
        "order 0312345678 (ten digits without separators)",
        "IBAN GB83 WEST 1234 5698 7654 32",  # mod-97 fails
        "ISO 9001 and 12345678 items",  # digits without an account label
        "東京都千代田区の天気",  # no block numbers
        "price 1,234,567 yen; 3 + 4 = 7",
    ],
)
def test_lookalikes_are_left_alone(text):
    assert redacted(text) == (text, {})


def test_my_number_check_digit():
    assert my_number_check_digit("12345678901") == 8
    assert my_number_check_digit("00000000000") == 0


def test_only_the_requested_kinds_and_the_project_patterns():
    text = "a@example.com 03-1234-5678 EMP-123456"
    assert redacted(text, kinds=["email"]) == ("[EMAIL] 03-1234-5678 EMP-123456", {"email": 1})
    assert redacted(text, kinds=[], patterns=[r"EMP-\d{6}"]) == (
        "a@example.com 03-1234-5678 [REDACTED]",
        {"custom": 1},
    )


def test_of_overlapping_matches_the_first_then_the_longest_wins():
    # A custom pattern inside an e-mail address loses to the address; one covering more wins.
    assert redacted("x taro@example.com", kinds=["email"], patterns=["taro"]) == ("x [EMAIL]", {"email": 1})
    assert redacted("x taro@example.com y", kinds=["email"], patterns=[r"x \S+ y"]) == (
        "[REDACTED]",
        {"custom": 1},
    )


def test_offset_map_moves_offsets_around_and_into_replacements():
    # "ab[EMAIL]cd" from "ab" + 10 characters + "cd": replaced [2, 12) by [2, 9).
    offsets = OffsetMap([Replacement(2, 12, 2, 9)])
    assert [offsets.start(position) for position in (0, 2, 5, 12, 13)] == [0, 2, 2, 9, 10]
    assert [offsets.end(position) for position in (1, 2, 3, 12, 14)] == [1, 2, 9, 9, 11]


def span(text: str, fragment: str, label: str = "PER", region_id: str = "r") -> dict:
    start = text.index(fragment)
    return {
        "id": region_id,
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + len(fragment), "text": fragment, "labels": [label]},
    }


def run(step, items, context=CONTEXT):
    report = StepReport("redact")
    return list(step(items, context, report)), report


def test_span_offsets_stay_valid_after_redaction():
    text = (
        "山田太郎 (taro@example.com, 090-1234-5678) は〒100-0001 東京都千代田区千代田1-1に住む。Jane Doe too."
    )
    result = [
        span(text, "山田太郎", region_id="before"),
        span(text, "taro@example.com", "PER", "covering"),
        span(text, "1234-5678", "PHONE", "inside"),  # part of the phone number
        span(text, "Jane Doe", region_id="after"),
        {
            "id": "a",
            "from_name": "answer",
            "to_name": "text",
            "type": "textarea",
            "value": {"text": ["call 03-1234-5678"]},
        },
    ]
    item = DatasetItem(task_id=1, data={"text": text, "image": "http://10.0.0.1/x.png"}, result=result)
    original = copy.deepcopy(item)
    [out], report = run(redact_step(["email", "phone", "jp_address", "ip"], text_fields=["text"]), [item])

    new_text = out.data["text"]
    assert new_text == "山田太郎 ([EMAIL], [PHONE]) は[ADDRESS]に住む。Jane Doe too."
    assert out.data["image"] == "http://10.0.0.1/x.png"  # not a text field
    regions = {region["id"]: region["value"] for region in out.result}
    for region_id in ("before", "covering", "inside", "after"):
        value = regions[region_id]
        assert new_text[value["start"] : value["end"]] == value["text"], region_id
    assert [regions[key]["text"] for key in ("before", "covering", "inside", "after")] == [
        "山田太郎",
        "[EMAIL]",
        "[PHONE]",
        "Jane Doe",
    ]
    assert regions["a"]["text"] == ["call [PHONE]"]
    assert report.changed == 1
    assert report.details == {"email": 1, "phone": 2, "jp_address": 1, "ip": 0}
    assert item == original  # the input item is not modified


def test_every_annotation_of_an_item_is_redacted():
    text = "mail a@example.com now"
    annotations = [
        ItemAnnotation(id=1, completed_by=5, result=[span(text, "now")]),
        ItemAnnotation(id=2, completed_by=6, result=[span(text, "a@example.com")]),
    ]
    item = DatasetItem(task_id=1, data={"text": text}, result=[], annotations=annotations)
    [out], report = run(redact_step(["email"]), [item])
    assert [annotation.result[0]["value"] for annotation in out.annotations] == [
        {"start": 13, "end": 16, "text": "now", "labels": ["PER"]},
        {"start": 5, "end": 12, "text": "[EMAIL]", "labels": ["PER"]},
    ]
    assert [(annotation.id, annotation.completed_by) for annotation in out.annotations] == [(1, 5), (2, 6)]
    assert report.details == {"email": 1}


def test_the_chosen_annotation_shares_the_items_redacted_result_and_is_counted_once():
    """A recipe that chose one annotation gives the item that annotation's result: it was redacted (and its
    matches counted) twice."""
    answer = [
        {
            "from_name": "answer",
            "to_name": "text",
            "type": "textarea",
            "value": {"text": ["write a@example.com"]},
        }
    ]
    item = DatasetItem(
        task_id=1,
        data={"text": "plain"},
        result=answer,
        annotations=[ItemAnnotation(id=1, completed_by=5, result=answer)],
    )
    [out], report = run(redact_step(["email"]), [item])
    assert out.result[0]["value"]["text"] == ["write [EMAIL]"]
    assert out.annotations[0].result is out.result
    assert report.details == {"email": 1}


def test_nested_values_and_regions_that_do_not_match_the_text():
    dialogue = [{"author": "A", "text": "my mail is a@example.com"}, {"author": "B", "text": "ok"}]
    stale = {
        "from_name": "label",
        "to_name": "text",
        "type": "labels",
        "value": {"start": 0, "end": 3, "text": "b@example.com", "labels": ["PER"]},
    }
    item = DatasetItem(task_id=1, data={"dialogue": dialogue, "text": "no pii"}, result=[stale])
    [out], report = run(redact_step(["email"]), [item])
    assert out.data["dialogue"][0]["text"] == "my mail is [EMAIL]"
    assert out.result[0]["value"] == {"start": 0, "end": 3, "text": "[EMAIL]", "labels": ["PER"]}
    assert report.details == {"email": 2}


def test_report_counts_are_exact_and_unchanged_items_pass_through():
    items = [
        DatasetItem(task_id=1, data={"text": "nothing here"}, result=[]),
        DatasetItem(task_id=2, data={"text": f"a@example.com, b@example.com, {MY_NUMBER}"}, result=[]),
        DatasetItem(task_id=3, data={"text": f"{MY_NUMBER_BAD} and ０３－１２３４－５６７８"}, result=[]),
        DatasetItem(task_id=4, data={"text": "EMP-000001"}, result=[]),
    ]
    out, report = run(redact_step(["email", "phone", "my_number"], patterns=[r"EMP-\d{6}"]), items)
    assert out[0] is items[0]
    assert [item.data["text"] for item in out] == [
        "nothing here",
        "[EMAIL], [EMAIL], [MY_NUMBER]",
        f"{MY_NUMBER_BAD} and [PHONE]",
        "[REDACTED]",
    ]
    assert report.removed == 0
    assert report.changed == 3
    assert report.details == {"email": 2, "phone": 1, "my_number": 1, "custom": 1}


def test_same_input_same_output():
    items = [
        DatasetItem(task_id=index, data={"text": f"user{index}@example.com 〒100-0001"}, result=[])
        for index in range(50)
    ]
    first = run(redact_step(KINDS), copy.deepcopy(items))
    second = run(redact_step(KINDS), copy.deepcopy(items))
    assert first[0] == second[0] and first[1].as_dict() == second[1].as_dict()


def test_parse_redact():
    spec = parse_redact(["email", "my_number", "email", {"pattern": r"EMP-\d+"}])
    assert spec.kinds == ("email", "my_number")
    assert spec.patterns == (r"EMP-\d+",)
    assert parse_redact(None).kinds == ()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (["email", "passport"], "unknown_kind"),
        ([3], "unknown_kind"),
        ("email", "invalid"),
        ([{"pattern": "(unclosed"}], "invalid_pattern"),
        ([{"pattern": ""}], "invalid_pattern"),
        ([{"pattern": "a" * 501}], "invalid_pattern"),
        ([{"pattern": "a", "flags": "i"}], "unknown_kind"),
    ],
)
def test_bad_redact_values_name_the_field(value, code):
    with pytest.raises(ApplicationError) as error:
        parse_redact(value)
    assert (error.value.field, error.value.code) == ("redact", code)


def test_a_pattern_that_backtracks_for_ever_fails_the_step_instead_of_leaving_text_unredacted():
    step = redact_step([], patterns=[r"(a+)+$"])
    item = DatasetItem(task_id=1, data={"text": "a" * 5000 + "!"}, result=[])
    with pytest.raises(ApplicationError) as error:
        run(step, [item])
    assert (error.value.field, error.value.code) == ("redact", "pattern_timeout")


def test_without_text_fields_every_string_of_the_data_is_redacted():
    item = DatasetItem(task_id=1, data={"text": "a@example.com", "meta": "b@example.com", "n": 5}, result=[])
    [out], report = run(redact_step(["email"]), [item])
    assert out.data == {"text": "[EMAIL]", "meta": "[EMAIL]", "n": 5}
    assert report.details == {"email": 2}


def test_an_unknown_kind_fails_when_the_step_is_built():
    with pytest.raises(ApplicationError) as error:
        redact_step(["email", "passport"])
    assert error.value.field == "redact"


# The built-in patterns as first written, each opening with its lookbehind. The module's patterns read
# a character first and look behind it after (so that the regular expression engine can skip to the
# characters a match starts with), and list every prefecture's name as an alternative of its own; the
# matches must be the same.
_D = "[0-9０-９]"
_HY = "[-－ー‐−–]"
_SP = "[ \u3000]"
_SEP = f"(?:{_SP}|{_HY})"
_PREFECTURES = (
    "北海道|東京都|大阪府|京都府|(?:青森|岩手|宮城|秋田|山形|福島|茨城|栃木|群馬|埼玉|千葉|神奈川|新潟|富山"
    "|石川|福井|山梨|長野|岐阜|静岡|愛知|三重|滋賀|兵庫|奈良|和歌山|鳥取|島根|岡山|広島|山口|徳島|香川|愛媛"
    "|高知|福岡|佐賀|長崎|熊本|大分|宮崎|鹿児島|沖縄)県"
)
_PLACE_CHAR = r"[^\s、。，,．.()（）「」『』【】〒0-9０-９]"
_BLOCK_NUMBER = f"(?:{_D}{{1,4}}|[一二三四五六七八九十〇]{{1,3}})"
_JP_ADDRESS = (
    f"(?:{_PREFECTURES}){_SP}?(?:{_PLACE_CHAR}{{1,8}}?[市区町村郡]){{1,3}}{_PLACE_CHAR}{{0,10}}?"
    f"(?:{_BLOCK_NUMBER}(?:丁目|番地?|{_HY}){_BLOCK_NUMBER}(?:(?:番地?|{_HY}){_BLOCK_NUMBER}号?)?(?:号)?"
    f"|{_BLOCK_NUMBER}条[東西南北]?{_BLOCK_NUMBER}丁目(?:{_BLOCK_NUMBER}(?:番地?|{_HY}){_BLOCK_NUMBER}?号?)?)"
)
REFERENCE_PATTERNS = {
    "email": [
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
            r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*"
            r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
        )
    ],
    "phone": [
        re.compile(
            rf"(?<![A-Za-z0-9+])[+＋]{_D}{{1,3}}(?:[ \u3000.]?{_HY}?[ \u3000]?\(?{_D}{{1,4}}\)?){{2,5}}(?!{_D})"
        ),
        re.compile(
            rf"(?<!{_D})(?:[(（][0０]{_D}{{1,4}}[)）]{_SP}?|[0０]{_D}{{1,4}}{_SEP}?)"
            rf"(?:{_D}{{1,4}}{_SEP}?|{_D}{{1,4}}[(（]|[(（]{_D}{{1,4}}[)）])?{_D}{{3,4}}(?!{_D})"
        ),
        re.compile(r"(?<![A-Za-z0-9])(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-. ]\d{4}(?!\d)"),
    ],
    "card": [re.compile(rf"(?<!{_D}){_D}(?:{_SEP}?{_D}){{12,18}}(?!{_D})")],
    "account": [
        re.compile(
            r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])"
        ),
        re.compile(
            rf"(?:口座番号|口座|account\s*(?:number|no\.?|#)|acct\.?\s*(?:no\.?|#)?)\s*[:：は]?\s*"
            rf"(?:(?:普通|当座|貯蓄)(?:預金)?{_SP}*)?(?P<number>{_D}(?:{_SEP}?{_D}){{5,16}})(?!{_D})",
            re.IGNORECASE,
        ),
    ],
    "ip": [
        re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9]|\.[0-9])"),
        re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])"),
    ],
    "jp_address": [
        re.compile(f"〒{_SP}?{_D}{{3}}{_HY}?{_D}{{4}}(?!{_D})(?:{_SP}*{_JP_ADDRESS})?|{_JP_ADDRESS}")
    ],
    "my_number": [
        re.compile(
            rf"(?<!{_D})(?<!{_D}{_SEP})(?:{_D}{{12}}|{_D}{{4}}{_SP}{_D}{{4}}{_SP}{_D}{{4}}"
            rf"|{_D}{{4}}{_HY}{_D}{{4}}{_HY}{_D}{{4}})(?!{_SEP}?{_D})"
        )
    ],
}
TRICKY_PIECES = [
    *"0123456789０１２３４５６７８９ -－ー‐−–.()（）+＋@:：は〒都道府県市区町村郡丁目番地号条東西南北一二三",
    *"\u3000aAbcdefxyzCOUNTnumbero#口座番号普通当座預金GBWST٣٤\n\t",
    "東京都",
    "北海道",
    "神奈川県",
    "大分県",
    "account number ",
    "ACCT# ",
    "口座番号：",
    "user@example.com",
    "4111 1111 1111 1111",
    MY_NUMBER,
    "090-1234-5678",
    "０３－１２３４－５６７８",
    "+81 90-1234-5678",
    "(415) 555-2671",
    "192.168.0.1",
    "fe80::1",
    "千代田区千代田1-1",
    "札幌市中央区北1条西2丁目",
    "〒100-0001 ",
    "GB82 WEST 1234 5698 7654 32",
]


def test_the_built_in_patterns_find_what_the_patterns_as_first_written_find(monkeypatch):
    """Random texts made of the pieces personal data is made of (so that matches start, stop and
    overlap everywhere), and a few ordinary ones: the same matches, kinds and offsets."""
    import dataclasses

    from exports.datasets import redaction

    rng = random.Random(0)
    texts = ["", "x", "a" * 5000 + " 090-1234-5678 " + "東京都内の企業" * 300 + MY_NUMBER]
    for _ in range(20_000):
        texts.append("".join(rng.choice(TRICKY_PIECES) for _ in range(rng.randint(1, 40))))
    fast = Redactor(KINDS)
    found = [fast.find(text) for text in texts]
    reference_detectors = {
        kind: tuple(
            dataclasses.replace(detector, pattern=pattern)
            for detector, pattern in zip(redaction._DETECTORS[kind], REFERENCE_PATTERNS[kind], strict=True)
        )
        for kind in KINDS
    }
    monkeypatch.setattr(redaction, "_DETECTORS", reference_detectors)
    reference = Redactor(KINDS)
    assert sum(map(len, found)) > 10_000  # matches of every kind, not texts with nothing in them
    for text, matches in zip(texts, found, strict=True):
        assert matches == reference.find(text), text
