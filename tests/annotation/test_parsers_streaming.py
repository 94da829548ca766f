"""The streamed parser (background imports) reads every upload as parse_items reads it in memory.

Each input is read with chunks of a few characters as well as the default size, so that values,
strings and escapes cut by a chunk's end are covered. No database.
"""

import io
import json

import pytest

from annotation.importing import parsers
from annotation.importing.parsers import iter_items, parse_items
from tessera.errors import ApplicationError

MAX = 1000

GOOD = [
    ('[{"text": "a"}, {"text": "b"}]', "json"),
    ('  [\n {"data": {"text": "x"}, "annotations": null, "meta": {"n": 1}},\n\t{"text": "y"}\n]\n', "json"),
    ('{"data": {"text": "one task"}}', "json"),
    ('[{"n": 12345678901234, "f": 1.5e3, "t": true, "z": null, "s": "\\u00e9\\"\\\\ 𠮷"}]', "json"),
    ('\ufeff[{"text": "byte order mark"}]', "json"),
    ('[{"text": "株式会社が増益"}, {"text": "ｶﾀｶﾅ"}]', "json"),
    ('{"text": "a"}\n\n{"text": "b"}\r\n{"text": "c"}', "jsonl"),
    ('{"text": "line separator \u2028 inside a string"}\n', "jsonl"),
    ('text,company\n"a, quoted\nnewline",Acme\n\nb,Beta\r\n', "csv"),
    ("text\tcompany\na,b\tc\n", "tsv"),
]

BAD = [
    ("", "json"),
    ("   \n", "jsonl"),
    ("[]", "json"),
    ("[1, 2]", "json"),
    ('[{"text": "a"} {"text": "b"}]', "json"),
    ('[{"text": "a"},\n {"text": }]', "json"),
    ('[{"text": "a"}', "json"),
    ('[{"text": "a"}] trailing', "json"),
    ('[{"x": NaN}]', "json"),
    ('[{"x": 1e400}]', "json"),
    ('"just a string"', "json"),
    ('{"text": "a"}\n{"text": ', "jsonl"),
    ('{"x": Infinity}', "jsonl"),
    ("text\na,b\n", "csv"),
    ("a,a\n1,2\n", "csv"),
    ('text\n"unclosed\n', "csv"),
    ('[{"data": []}]', "json"),
    ("[" + "[" * 5000 + "]" * 5000 + "]", "json"),
]


def streamed(raw: str | bytes, file_format: str, *, max_tasks: int = MAX):
    data = raw.encode() if isinstance(raw, str) else raw
    return list(iter_items(io.BytesIO(data), file_format, max_tasks=max_tasks))


def outcome(read, raw, file_format, **kwargs):
    try:
        return [
            (item.data, item.meta, item.annotations, item.predictions)
            for item in read(raw, file_format, **kwargs)
        ]
    except ApplicationError as error:
        return (error.code, error.field, error.message)


@pytest.fixture(params=[7, parsers.STREAM_READ_CHARS], ids=["tiny-chunks", "default-chunks"])
def chunk_chars(request, monkeypatch):
    monkeypatch.setattr(parsers, "STREAM_READ_CHARS", request.param)
    return request.param


def in_memory(raw, file_format, **kwargs):
    return parse_items(raw.encode() if isinstance(raw, str) else raw, file_format, max_tasks=MAX, **kwargs)


@pytest.mark.parametrize(("raw", "file_format"), GOOD + BAD)
def test_streamed_reading_matches_reading_in_memory(chunk_chars, raw, file_format):
    assert outcome(streamed, raw, file_format) == outcome(in_memory, raw, file_format)


def test_large_elements_cross_many_chunks(chunk_chars):
    tasks = [{"text": "word " * 3000, "n": i, "nested": {"list": list(range(50))}} for i in range(20)]
    items = streamed(json.dumps(tasks, indent=2), "json")
    assert [item.data for item in items] == tasks


def test_more_tasks_than_the_limit_are_refused_while_reading():
    with pytest.raises(ApplicationError) as caught:
        streamed("\n".join(json.dumps({"text": str(i)}) for i in range(11)), "jsonl", max_tasks=10)
    assert (caught.value.code, caught.value.field) == ("too_many_tasks", "file")
    assert "limit is 10" in caught.value.message
    assert (
        len(streamed("\n".join(json.dumps({"text": str(i)}) for i in range(10)), "jsonl", max_tasks=10)) == 10
    )


def test_items_come_one_at_a_time_before_the_end_is_read():
    """A bad row far down the file is not read before the first rows are handed out."""
    raw = "\n".join([json.dumps({"text": "fine"})] * 3 + ["{broken"])
    items = iter_items(io.BytesIO(raw.encode()), "jsonl", max_tasks=MAX)
    assert next(items).data == {"text": "fine"}
    with pytest.raises(ApplicationError) as caught:
        list(items)
    assert caught.value.field == "line 4"


def test_not_utf8_is_refused_naming_the_place(chunk_chars):
    with pytest.raises(ApplicationError) as caught:
        streamed(b'[{"text": "caf\xe9"}]', "json")
    assert caught.value.code == "bad_encoding" and "offset" in caught.value.message


def test_malformed_json_names_its_line_and_column_in_the_file(chunk_chars):
    raw = '[\n  {"text": "a"},\n  {"text": "b"},\n  {"text" "c"}\n]'
    with pytest.raises(ApplicationError) as caught:
        streamed(raw, "json")
    assert caught.value.message.startswith("Malformed JSON at line 4, column 11:"), caught.value.message
