"""The generic dataset writers: JSONL, Parquet, the Hugging Face folder, and Label Studio's export types.

Items are built directly (the writers never touch the database); only the Label Studio round trip
imports into a project.
"""

import csv
import hashlib
import io
import json
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotation.importing.parsers import parse_items
from annotation.result_labels import first_label
from annotation.services.imports import tasks_import
from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.formats import dataset_parquet
from exports.formats.canonical_json import canonical_json, reference_json
from exports.formats.dataset_hf import write_tar
from exports.formats.datasets import DATASET_FORMATS
from tests.conftest import NER_CONFIG, span

NER_CONTEXT = DatasetContext(
    project_id=7,
    controls={"label": {"type": "Labels", "to_name": ["text"], "inputs": [], "labels": ["ORG", "PER"]}},
    data_variables=("text",),
    label_config=NER_CONFIG,
)


def ner_item(task_id: int, text: str, split: str = "train", *, annotation_id: int | None = None, user=3):
    """An item whose result marks every "Acme" in the text as ORG, each region with its own id."""
    result = []
    start = text.find("Acme")
    while start >= 0:
        region = span(start, start + 4, "ORG", "Acme")
        region["id"] = f"t{task_id}r{start}"
        result.append(region)
        start = text.find("Acme", start + 1)
    annotation = ItemAnnotation(id=annotation_id or task_id * 10, completed_by=user, result=result)
    return DatasetItem(
        task_id=task_id, data={"text": text}, result=result, annotations=[annotation], split=split
    )


def sample_items() -> list[DatasetItem]:
    return [
        ner_item(1, "Acme bought Acme Labs.", "train"),
        ner_item(2, "株式会社Acmeは東京にあります。", "train"),
        ner_item(3, "Nothing to see here.", "validation"),
        DatasetItem(
            task_id=4,
            data={"text": "Acme again", "meta": {"page": 2}},
            result=[],
            annotations=[ItemAnnotation(id=41, completed_by=None, result=[])],
            split="test",
        ),
    ]


def written(name: str, items, context: DatasetContext = NER_CONTEXT) -> bytes:
    stream = io.BytesIO()
    DATASET_FORMATS[name].write(iter(items), context, stream)
    return stream.getvalue()


def test_every_generic_format_is_registered_and_fits_any_config():
    empty = DatasetContext(project_id=1, controls={}, data_variables=())
    for name, per_split in [("jsonl", True), ("parquet", True), ("hf", False),
                            ("JSON", True), ("JSON_MIN", True), ("CSV", True), ("TSV", True)]:  # fmt: skip
        fmt = DATASET_FORMATS[name]
        assert fmt.per_split is per_split, name
        assert fmt.fits(NER_CONTEXT) is None and fmt.fits(empty) is None, name


@pytest.mark.parametrize("name", ["jsonl", "parquet", "hf", "JSON", "JSON_MIN", "CSV", "TSV"])
def test_the_same_items_give_the_same_bytes(name):
    first = written(name, sample_items())
    assert first
    assert written(name, sample_items()) == first
    # And the bytes do depend on the items.
    changed = sample_items()
    changed[0].data["text"] = "Acme sold Acme Labs."
    assert written(name, changed) != first


# JSONL


def test_jsonl_lines_have_exactly_the_documented_keys_sorted_compact_and_utf8():
    text = written("jsonl", sample_items()).decode("utf-8")
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == 4
    records = [json.loads(line) for line in lines]
    for line, record in zip(lines, records, strict=True):
        assert list(record) == ["annotations", "data", "result", "split", "task_id"]
        for annotation in record["annotations"]:
            assert list(annotation) == ["completed_by", "id", "result"]
        assert line == json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    assert records[1] == {
        "task_id": 2,
        "split": "train",
        "data": {"text": "株式会社Acmeは東京にあります。"},
        "result": sample_items()[1].result,
        "annotations": [{"id": 20, "completed_by": 3, "result": sample_items()[1].result}],
    }
    # Japanese is written as itself, not as \u escapes.
    assert "株式会社" in lines[1]
    assert records[3]["annotations"] == [{"id": 41, "completed_by": None, "result": []}]


def test_jsonl_writes_an_annotations_own_result_when_it_is_not_the_items():
    item = ner_item(5, "Acme")
    item.annotations.append(ItemAnnotation(id=99, completed_by=4, result=[{"from_name": "x", "value": {}}]))
    item.result = []  # result "all": the writers read the annotations
    record = json.loads(written("jsonl", [item]))
    assert record["result"] == []
    assert [a["result"] for a in record["annotations"]] == [
        ner_item(5, "Acme").result,
        [{"from_name": "x", "value": {}}],
    ]


def test_canonical_json_is_exactly_what_json_dumps_writes_with_the_same_options():
    values = [
        {"b": 1, "a": [1.5, -0.0, 1e300, None, True, False, "é\u2028\n\"\\/"], "c": {"z": {}, "y": []}},
        ["日本語", {"𠮷": "x"}], "bare string", 12, 3.25, None, [], {},
    ]  # fmt: skip
    for value in values:
        assert canonical_json(value) == reference_json(value)
    with pytest.raises(ValueError):
        canonical_json({"a": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"a": object()})


# Parquet

EXPECTED_SCHEMA = pa.schema(
    [
        pa.field("task_id", pa.int64(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
        pa.field("data", pa.string(), nullable=False),
        pa.field("text", pa.string()),
        pa.field("result", pa.string(), nullable=False),
        pa.field("annotation_ids", pa.list_(pa.int64()), nullable=False),
        pa.field("label", pa.string()),
    ]
)


def test_parquet_reads_back_with_the_documented_schema_and_values():
    items = sample_items()
    table = pq.read_table(io.BytesIO(written("parquet", items)))
    assert table.schema.remove_metadata().equals(EXPECTED_SCHEMA)
    rows = table.to_pylist()
    assert [row["task_id"] for row in rows] == [1, 2, 3, 4]
    assert [row["split"] for row in rows] == ["train", "train", "validation", "test"]
    assert [json.loads(row["data"]) for row in rows] == [item.data for item in items]
    assert [json.loads(row["result"]) for row in rows] == [item.result for item in items]
    assert rows[0]["data"] == canonical_json(items[0].data)
    assert [row["text"] for row in rows] == [item.data["text"] for item in items]
    assert [row["annotation_ids"] for row in rows] == [[10], [20], [30], [41]]
    assert [row["label"] for row in rows] == ["ORG", "ORG", None, None]


def test_parquet_variable_columns_hold_strings_only_and_never_shadow_the_fixed_columns():
    context = DatasetContext(project_id=1, controls={}, data_variables=("text", "label", "page"))
    item = DatasetItem(task_id=1, data={"text": "x", "label": "from data", "page": 3}, result=[])
    table = pq.read_table(io.BytesIO(written("parquet", [item], context)))
    assert table.column_names == ["task_id", "split", "data", "text", "_data_label", "page", "result",
                                  "annotation_ids", "label"]  # fmt: skip
    row = table.to_pylist()[0]
    assert (row["text"], row["_data_label"], row["page"], row["label"]) == ("x", "from data", None, None)
    assert json.loads(row["data"])["page"] == 3


def test_parquet_columns_never_share_a_name_even_when_variables_look_like_renamed_ones():
    context = DatasetContext(project_id=1, controls={}, data_variables=("label", "_data_label"))
    item = DatasetItem(task_id=1, data={"label": "a", "_data_label": "b"}, result=[])
    row = pq.read_table(io.BytesIO(written("parquet", [item], context))).to_pylist()[0]
    assert (row["_data_label"], row["_data__data_label"], row["label"]) == ("a", "b", None)


@pytest.mark.parametrize("batch_rows", [3, 1000])
def test_parquet_is_written_in_row_groups_of_a_fixed_size_whatever_the_batches(monkeypatch, batch_rows):
    monkeypatch.setattr(dataset_parquet, "ROW_GROUP_ROWS", 10)
    monkeypatch.setattr(dataset_parquet, "BATCH_ROWS", batch_rows)
    items = [ner_item(task_id, f"Acme {task_id}") for task_id in range(1, 26)]
    parquet = pq.ParquetFile(io.BytesIO(written("parquet", items)))
    metadata = parquet.metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [10, 10, 5]
    assert parquet.read().column("task_id").to_pylist() == list(range(1, 26))


def test_an_empty_split_is_a_parquet_file_with_the_schema_and_no_rows():
    table = pq.read_table(io.BytesIO(written("parquet", [])))
    assert table.num_rows == 0 and table.schema.remove_metadata().equals(EXPECTED_SCHEMA)


# Hugging Face folder


def test_the_hf_archive_loads_offline_with_one_split_per_recipe_split(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    items = sample_items()
    archive_bytes = written("hf", items)
    with tarfile.open(fileobj=io.BytesIO(archive_bytes)) as archive:
        members = archive.getmembers()
        names = [member.name for member in members]
        assert names == sorted(names)
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
        assert "dataset_dict.json" in names and "train/state.json" in names
        archive.extractall(tmp_path, filter="data")
    loaded = datasets.load_from_disk(str(tmp_path))
    assert list(loaded) == ["train", "validation", "test"]
    assert {split: loaded[split].num_rows for split in loaded} == {"train": 2, "validation": 1, "test": 1}
    train = loaded["train"]
    assert train.column_names == ["task_id", "data", "text", "result", "annotation_ids", "label"]
    assert train.features["annotation_ids"].feature.dtype == "int64"
    assert train["task_id"] == [1, 2]
    assert train["text"] == ["Acme bought Acme Labs.", "株式会社Acmeは東京にあります。"]
    assert [json.loads(result) for result in train["result"]] == [items[0].result, items[1].result]
    assert loaded["test"][0]["annotation_ids"] == [41]
    assert loaded["test"][0]["label"] is None
    # The fingerprint is the content's, not a random one.
    state = json.loads((tmp_path / "train" / "state.json").read_text())
    assert len(state["_fingerprint"]) == 16


def test_the_hf_folder_is_byte_for_byte_what_save_to_disk_writes_for_the_full_splits(tmp_path):
    """The writer has datasets write the metadata of empty splits and puts each split's rows in place of
    its data file: pinned against the folder datasets itself writes for the same rows."""
    import datasets
    from datasets.table import InMemoryTable

    with tarfile.open(fileobj=io.BytesIO(written("hf", sample_items()))) as archive:
        archive.extractall(tmp_path / "ours", filter="data")
    ours = tmp_path / "ours"
    loaded = datasets.load_from_disk(str(ours))
    reference = {}
    for split in loaded:
        features = loaded[split].features
        state = json.loads((ours / split / "state.json").read_text())
        reference[split] = datasets.Dataset(
            InMemoryTable(pa.Table.from_pylist(loaded[split].to_list(), schema=features.arrow_schema)),
            info=datasets.DatasetInfo(features=features),
            split=datasets.NamedSplit(split),
            fingerprint=state["_fingerprint"],
        )
    datasets.DatasetDict(reference).save_to_disk(str(tmp_path / "theirs"))
    files = sorted(path.relative_to(ours).as_posix() for path in ours.rglob("*") if path.is_file())
    theirs = tmp_path / "theirs"
    assert files == sorted(
        path.relative_to(theirs).as_posix() for path in theirs.rglob("*") if path.is_file()
    )
    for name in files:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def test_write_tar_sorts_entries_and_zeroes_times_whatever_the_folder(tmp_path):
    folder = tmp_path / "f"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "x.txt").write_text("x")
    (folder / "a.txt").write_text("a")
    out = io.BytesIO()
    write_tar(folder, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as archive:
        assert [(m.name, m.mtime, m.mode) for m in archive.getmembers()] == [
            ("a.txt", 0, 0o644), ("b", 0, 0o755), ("b/x.txt", 0, 0o644)
        ]  # fmt: skip


# Label Studio's export types


def test_json_holds_each_items_chosen_result_as_its_annotation():
    tasks = json.loads(written("JSON", sample_items()))
    assert [task["id"] for task in tasks] == [1, 2, 3, 4]
    first = tasks[0]
    assert first["data"] == {"text": "Acme bought Acme Labs."}
    assert [(a["id"], a["completed_by"], a["result"]) for a in first["annotations"]] == [
        (10, 3, sample_items()[0].result)
    ]
    assert first["consensus"] is None and first["predictions"] == []
    # What an item does not carry is empty, not made up.
    assert (first["created_at"], first["annotations"][0]["review_state"], first["meta"]) == ("", "", {})


def test_a_consensus_result_is_the_tasks_consensus_beside_the_annotations_behind_it():
    item = ner_item(8, "Acme and Acme")
    item.annotations = [
        ItemAnnotation(id=81, completed_by=3, result=item.result[:1]),
        ItemAnnotation(id=82, completed_by=4, result=item.result),
    ]
    task = json.loads(written("JSON", [item]))[0]
    assert [(a["id"], a["result"]) for a in task["annotations"]] == [(81, item.result[:1]), (82, item.result)]
    assert task["consensus"] == {"result": item.result, "tie": None, "agreement": None}
    records = json.loads(written("JSON_MIN", [item]))
    assert sorted(record["annotation_id"] for record in records) == [81, 82]


def test_json_min_is_one_flat_record_per_annotation():
    records = json.loads(written("JSON_MIN", sample_items()[:2]))
    assert [record["id"] for record in records] == [1, 2]
    assert records[0]["text"] == "Acme bought Acme Labs."
    assert [value["labels"] for value in records[0]["label"]] == [["ORG"], ["ORG"]]
    assert records[0]["annotator"] == 3 and records[0]["annotation_id"] == 10


def test_a_task_written_as_json_and_imported_again_comes_back_the_same(make_project, cast):
    members = [cast.users["annotator"].pk, cast.users["annotator2"].pk]
    items = [
        ner_item(1, "Acme bought Acme Labs.", user=members[0]),
        ner_item(2, "株式会社Acmeは東京にあります。", user=members[1]),
        ner_item(3, "Nothing here.", user=members[0]),
    ]
    items[2].data["source"] = {"page": 3, "tags": ["a", "b"]}
    project = make_project(NER_CONFIG)
    parsed = parse_items(written("JSON", items), "json", max_tasks=100)
    tasks_import(project=project, user=cast.users["owner"], items=parsed)
    imported = list(project.tasks.order_by("id").prefetch_related("annotations"))
    assert [task.data for task in imported] == [item.data for item in items]
    assert [
        [(a.completed_by_id, a.result) for a in task.annotations.order_by("id")] for task in imported
    ] == [[(item.annotations[0].completed_by, item.result)] for item in items]


FORMULAS = ['=HYPERLINK("http://evil.test","x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tcell",
            "\rcell"]  # fmt: skip


@pytest.mark.parametrize("name", ["CSV", "TSV"])
def test_dataset_csv_cells_a_spreadsheet_would_run_are_neutralised(name):
    delimiter = "\t" if name == "TSV" else ","
    items = [
        DatasetItem(task_id=i, data={"text": formula, "=cmd": "x"}, result=[],
                    annotations=[ItemAnnotation(id=i, completed_by=1, result=[])])
        for i, formula in enumerate(FORMULAS, start=1)
    ]  # fmt: skip
    text = written(name, items).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert [row["text"] for row in rows] == ["'" + formula for formula in FORMULAS]
    assert "'=cmd" in rows[0] and "=cmd" not in rows[0]
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_dataset_csv_names_every_data_key_of_every_item_and_keeps_rows_whole():
    items = sample_items()
    items[2].data = {"text": "line one\rline two", "extra": "only here"}
    text = written("CSV", items).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 4
    assert {"text", "meta", "extra", "id", "label", "annotator", "annotation_id"} <= set(rows[0])
    assert [row["id"] for row in rows] == ["1", "2", "3", "4"]
    assert rows[2]["extra"] == "only here" and rows[2]["text"] == "line one\rline two"
    assert json.loads(rows[3]["meta"]) == {"page": 2}


def test_first_label_is_the_first_option_in_region_order():
    assert first_label([span(0, 1, "PER"), span(2, 3, "ORG")]) == "PER"
    assert (
        first_label([{"value": {"text": ["free"]}}, {"value": {"choices": ["Positive", "Negative"]}}])
        == "Positive"
    )
    assert first_label([{"value": {"taxonomy": [["Animal", "Cat"]]}}]) == "Cat"
    assert first_label([{"value": {"rating": 4}}, "junk"]) is None
    assert first_label([]) is None and first_label(None) is None


def pinned_items() -> list[DatasetItem]:
    """Items whose values reach every path of the canonical JSON: floats orjson writes otherwise, null,
    integers past 64 bits, escapes, CJK and astral text, an annotation with a result of its own."""
    shared = [{"id": "r1", "from_name": "label", "to_name": "text", "type": "labels",
               "value": {"start": 0, "end": 4, "text": "Acme", "labels": ["ORG"]}}]  # fmt: skip
    return [
        DatasetItem(task_id=1, data={"text": "Acme bought Acme Labs.", "doc": "d1"}, result=shared,
                    annotations=[ItemAnnotation(10, 3, shared)]),
        DatasetItem(task_id=2, data={"text": "株式会社Acme 🚀", "z": {"b": 1, "a": [1.5, 0.1, 1e-05, 1e-07]}},
                    result=[{"value": {"choices": ["Positive"]}, "score": 2.5e-06}],
                    annotations=[ItemAnnotation(20, None, [{"value": {"choices": ["Negative"]}}])],
                    split="validation"),
        DatasetItem(task_id=3, data={"text": None, "n": 123456789012345678901234567890, "t": "tab\there \"q\" \\ \u2028 \x00"},
                    result=[], annotations=[ItemAnnotation(30, 4, []), ItemAnnotation(31, 5, [{"x": 1e16}])],
                    split="test"),
        DatasetItem(task_id=2**40, data={"text": "0.00001 e-7 null", "split": "mine"},
                    result=[{"value": {"rating": 4, "big": 1e300, "neg": -0.0}}],
                    annotations=[ItemAnnotation(2**41, 7, [{"value": {"rating": 4, "big": 1e300, "neg": -0.0}}])]),
    ]  # fmt: skip


# SHA-256 of each writer's bytes for pinned_items(), as the writers wrote them before their JSON went
# through orjson: a faster path must not change one byte. Parquet's bytes hold pyarrow's version.
PINNED_SHA256 = {
    "jsonl": "7097a66cd613791b8dd1592831888078988ec4efb518cc870caaea9d4e95a658",
    "parquet": "f24d5efc48be8bf9257f5d912556040b8c7f9f03bd4460e570de6981023d9702",
}
PINNED_PYARROW = "26.0.1"


@pytest.mark.parametrize("name", sorted(PINNED_SHA256))
def test_writers_give_the_pinned_bytes_for_pinned_items(name):
    if name == "parquet" and pa.__version__ != PINNED_PYARROW:
        pytest.skip(f"the pinned Parquet bytes were written by pyarrow {PINNED_PYARROW}")
    context = DatasetContext(project_id=7, controls={}, data_variables=("text", "split"))
    stream = io.BytesIO()
    DATASET_FORMATS[name].write(pinned_items(), context, stream)
    assert hashlib.sha256(stream.getvalue()).hexdigest() == PINNED_SHA256[name]


def test_jsonl_line_bytes_are_the_lines_text():
    from exports.formats.dataset_records import line, line_bytes

    for item in [*pinned_items(), *sample_items()]:
        assert line_bytes(item) == line(item).encode()
