"""Plain-Python tests of import parsing and of the flattening that JSON_MIN and CSV exports use: no database."""

import pytest

from annotation.importing.parsers import (
    TaskItem,
    format_from_content_type,
    format_from_filename,
    parse_items,
    to_task_item,
)
from exports.formats.flatten import flatten_result, loads
from tessera.errors import ApplicationError
from tests.conftest import choice, span

MAX = 1000


def parse(raw: str | bytes, file_format: str, *, max_tasks: int = MAX) -> list[TaskItem]:
    return parse_items(raw.encode() if isinstance(raw, str) else raw, file_format, max_tasks=max_tasks)


def refusal(raw: str | bytes, file_format: str, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        parse(raw, file_format, **kwargs)
    return caught.value


# --- recognising a format ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("tasks.json", "json"), ("TASKS.JSONL", "jsonl"), ("a.ndjson", "jsonl"), ("rows.csv", "csv"),
     ("rows.tsv", "tsv"), ("rows.txt", None), ("json", None), ("archive.json.gz", None)],
)  # fmt: skip
def test_format_from_filename(name, expected):
    assert format_from_filename(name) == expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("application/json", "json"), ("application/json; charset=utf-8", "json"), ("Text/CSV", "csv"),
     ("application/x-ndjson", "jsonl"), ("text/tab-separated-values", "tsv"), ("text/plain", None), ("", None)],
)  # fmt: skip
def test_format_from_content_type(content_type, expected):
    assert format_from_content_type(content_type) == expected


# --- each format -------------------------------------------------------------------------------------------------


def test_json_array_of_bare_data_objects():
    items = parse('[{"text": "a"}, {"text": "b", "n": 2}]', "json")
    assert [item.data for item in items] == [{"text": "a"}, {"text": "b", "n": 2}]
    assert all(item.annotations == [] and item.predictions == [] and item.meta == {} for item in items)


def test_json_single_object_is_one_task():
    assert [item.data for item in parse('{"text": "alone"}', "json")] == [{"text": "alone"}]


def test_label_studio_task_shape_is_split_into_its_parts():
    record = {
        "data": {"text": "a"},
        "meta": {"m": 1},
        "annotations": [{"result": []}],
        "predictions": [{"result": []}],
    }
    item = to_task_item(record, 0)
    assert (item.data, item.meta, item.annotations, item.predictions) == (
        {"text": "a"}, {"m": 1}, [{"result": []}], [{"result": []}],
    )  # fmt: skip


def test_null_annotations_predictions_and_meta_read_as_empty():
    item = to_task_item({"data": {"text": "a"}, "meta": None, "annotations": None, "predictions": None}, 0)
    assert (item.meta, item.annotations, item.predictions) == ({}, [], [])


def test_json_lines_skip_blank_lines():
    items = parse('{"text": "a"}\n\n  \n{"text": "b"}', "jsonl")
    assert [item.data["text"] for item in items] == ["a", "b"]


def test_csv_reads_quoted_cells_with_commas_and_newlines():
    items = parse('text,source\n"one, two","multi\nline"\n', "csv")
    assert items[0].data == {"text": "one, two", "source": "multi\nline"}


def test_csv_strips_header_names_and_skips_empty_rows():
    items = parse(" text , source \na,b\n\nc,d\n", "csv")
    assert [item.data for item in items] == [{"text": "a", "source": "b"}, {"text": "c", "source": "d"}]


def test_tsv_splits_on_tabs_only():
    items = parse("text\tsource\na, b\tc\n", "tsv")
    assert items[0].data == {"text": "a, b", "source": "c"}


def test_utf8_byte_order_mark_is_dropped():
    assert parse("\ufefftext\nhello\n", "csv")[0].data == {"text": "hello"}
    assert parse('\ufeff[{"text": "hi"}]', "json")[0].data == {"text": "hi"}


def test_japanese_text_survives_every_format():
    text = "日本銀行が利上げを決定"
    for raw, file_format in ((f'[{{"text": "{text}"}}]', "json"), (f'{{"text": "{text}"}}', "jsonl"),
                             (f"text\n{text}\n", "csv"), (f"text\n{text}\n", "tsv")):  # fmt: skip
        assert parse(raw, file_format)[0].data == {"text": text}


# --- refusals ----------------------------------------------------------------------------------------------------


def test_unsupported_format_is_refused():
    error = refusal("a", "xml")
    assert (error.field, error.code) == ("file", "unsupported_format")


@pytest.mark.parametrize("file_format", ["json", "jsonl", "csv", "tsv"])
@pytest.mark.parametrize("raw", ["", "  \n\t "])
def test_empty_input_is_refused(file_format, raw):
    assert refusal(raw, file_format).code == "empty"


@pytest.mark.parametrize(("raw", "file_format"), [("[]", "json"), ("text\n", "csv"), ("text\n\n\n", "tsv")])
def test_input_without_tasks_is_refused(raw, file_format):
    error = refusal(raw, file_format)
    assert (error.code, error.message) == ("empty", "The import holds no tasks.")


def test_not_utf8_is_refused_with_the_offset():
    error = refusal("text\nné\n".encode("latin-1"), "csv")
    assert (error.code, error.field) == ("bad_encoding", "file")
    assert "offset 6" in error.message


def test_malformed_json_names_line_and_column():
    error = refusal('[\n{"text": "a"},\n{"text" "b"}\n]', "json")
    assert (error.code, error.field) == ("parse_error", "file")
    assert "line 3, column 9" in error.message


@pytest.mark.parametrize("raw", ['[{"n": NaN}]', '[{"n": -Infinity}]', "[" * 10000 + "]" * 10000])
def test_json_that_python_accepts_but_json_forbids_is_refused(raw):
    assert refusal(raw, "json").code == "parse_error"


@pytest.mark.parametrize("raw", ["42", '"text"', "null", "true"])
def test_json_scalar_is_refused(raw):
    assert refusal(raw, "json").code == "parse_error"


def test_malformed_json_line_names_the_line():
    error = refusal('{"text": "a"}\n\n{"text": NaN}\n', "jsonl")
    assert (error.field, error.code) == ("line 3", "parse_error")


def test_ragged_csv_row_names_the_line():
    error = refusal("text,source\na,b\nc\nd,e\n", "csv")
    assert (error.field, error.code) == ("line 3", "parse_error")
    assert "1 cell;" in error.message and "header has 2" in error.message


@pytest.mark.parametrize("header", ["text,text", "text,,source", ","])
def test_csv_header_must_name_every_column_once(header):
    error = refusal(f"{header}\na,b,c\n", "csv")
    assert (error.field, error.code) == ("file", "parse_error")


def test_csv_with_an_unclosed_quote_is_refused():
    assert refusal('text\n"open\n', "csv").code == "parse_error"


def test_more_tasks_than_the_limit_are_refused_before_building_items():
    error = refusal("text\n" + "a\n" * 4, "csv", max_tasks=3)
    assert (error.code, error.field) == ("too_many_tasks", "file")
    assert "4 tasks" in error.message and "3" in error.message
    assert len(parse("text\n" + "a\n" * 3, "csv", max_tasks=3)) == 3


@pytest.mark.parametrize(
    ("record", "field"),
    [(5, "tasks[2]"), ([], "tasks[2]"), ({"data": "x"}, "tasks[2].data"), ({"data": {}, "meta": []}, "tasks[2].meta"),
     ({"data": {}, "annotations": {}}, "tasks[2].annotations"), ({"data": {}, "predictions": "p"}, "tasks[2].predictions")],
)  # fmt: skip
def test_task_of_the_wrong_shape_names_its_place(record, field):
    with pytest.raises(ApplicationError) as caught:
        to_task_item(record, 2)
    assert caught.value.field == field


# --- flattening results for JSON_MIN and CSV ---------------------------------------------------------------------


def test_single_choice_flattens_to_the_bare_value():
    assert flatten_result(choice("Positive")) == {"sentiment": "Positive"}


def test_several_choices_become_the_value_object():
    region = {**choice("Positive")[0], "value": {"choices": ["Positive", "Neutral"]}}
    assert flatten_result([region]) == {"sentiment": {"choices": ["Positive", "Neutral"]}}


def test_spans_flatten_to_their_values_in_order():
    result = [span(0, 4, "ORG", "日本銀行"), span(5, 8, "PER")]
    assert flatten_result(result) == {"label": [result[0]["value"], result[1]["value"]]}


def test_one_textarea_text_is_bare_and_several_stay_the_value_object():
    one = {"from_name": "answer", "to_name": "q", "type": "textarea", "value": {"text": ["Raise rates."]}}
    two = {**one, "value": {"text": ["a", "b"]}}
    assert flatten_result([one]) == {"answer": "Raise rates."}
    assert flatten_result([two]) == {"answer": {"text": ["a", "b"]}}


def test_other_controls_flatten_to_the_list_of_their_values():
    result = [
        {"from_name": "quality", "to_name": "q", "type": "rating", "value": {"rating": 4}},
        {"from_name": "amount", "to_name": "q", "type": "number", "value": {"number": 2.5}},
    ]
    assert flatten_result(result) == {"quality": [{"rating": 4}], "amount": [{"number": 2.5}]}


def test_two_choice_regions_of_one_control_stay_a_list():
    assert flatten_result(choice("Positive") + choice("Neutral")) == {"sentiment": ["Positive", "Neutral"]}


def test_image_size_travels_with_the_value():
    region = {"from_name": "box", "to_name": "img", "type": "rectanglelabels", "original_width": 640,
              "original_height": 480, "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": ["Car"]}}  # fmt: skip
    (value,) = flatten_result([region])["box"]
    assert (value["original_width"], value["original_height"], value["rectanglelabels"]) == (
        640,
        480,
        ["Car"],
    )


def test_relations_and_junk_regions_are_left_out():
    result = [
        {"type": "relation", "from_id": "a", "to_id": "b"},
        "junk",
        {"from_name": "x"},
        *choice("Negative"),
    ]
    assert flatten_result(result) == {"sentiment": "Negative"}


def test_empty_result_flattens_to_nothing():
    assert flatten_result([]) == {}


def test_loads_reads_database_text_and_passes_values_through():
    assert loads('{"a": [1]}') == {"a": [1]}
    assert loads({"a": 1}) == {"a": 1}


def test_numbers_too_large_for_a_float_are_refused():
    assert refusal('[{"n": 1e400}]', "json").code == "parse_error"
    assert refusal('{"n": -1e999}\n', "jsonl").field == "line 1"
    assert parse('[{"n": 1e300, "big": 100000000000000000000000000000}]', "json")[0].data["n"] == 1e300


def test_csv_with_windows_line_endings_reads_the_same():
    assert [item.data for item in parse("text,n\r\na,1\r\nb,2\r\n", "csv")] == [
        {"text": "a", "n": "1"},
        {"text": "b", "n": "2"},
    ]
