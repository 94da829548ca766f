"""The ``parquet`` dataset format: one Parquet file per split, with an explicit, stable schema.

Columns, in this order (documented in docs/ARCHITECTURE.md, "Dataset formats"):

- ``task_id`` int64, not null;
- ``split`` string, not null;
- ``data`` string: the task's data as canonical JSON (keys sorted, UTF-8, compact);
- one string column per data variable of the config (``$text`` → ``text``), holding the value when it is
  a string and null otherwise (the full value is in ``data``); a variable named like one of the fixed
  columns is written as ``_data_<name>``, as the CSV export does for data named like a control
  (``variable_columns``);
- ``result`` string: the chosen result regions as canonical JSON;
- ``annotation_ids`` list<int64>: the annotations behind the item;
- ``label`` string, nullable: the first option chosen in ``result`` (None for a result with no choice).

Items are read as a stream, turned into Arrow columns ``BATCH_ROWS`` at a time, and written in row
groups of ``ROW_GROUP_ROWS``: memory holds one group's columns, however many items there are. The same items give the same bytes with the same pyarrow (its version is
in the file's ``created_by``); no time is written.
"""

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from annotation.result_labels import first_label
from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.canonical_json import item_json
from exports.formats.dataset_records import fits_any_config
from exports.formats.datasets import DatasetFormat, PartsWriter, register

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported where it is used: every process registers the formats at start-up, and importing
# pyarrow there cost each web worker 0.14 s and 70 MB that only a dataset build needs.

ROW_GROUP_ROWS = 10_000
# Items are turned into Arrow columns this many at a time, then let go: a row group's items as Python
# objects took 200 MB where its Arrow columns take 30.
BATCH_ROWS = 1000
FIXED_COLUMNS = ("task_id", "split", "data", "result", "annotation_ids", "label")


def variable_columns(context: DatasetContext) -> dict[str, str]:
    """{data variable: its column name}, in the config's order. A variable named like a fixed column, or
    like a column named before it, is prefixed with ``_data_`` (again, until the name is free), so that no
    two columns share a name."""
    taken = set(FIXED_COLUMNS)
    columns = {}
    for name in context.data_variables:
        column = name
        while column in taken:
            column = f"_data_{column}"
        taken.add(column)
        columns[name] = column
    return columns


def arrow_schema(context: DatasetContext, *, with_split: bool = True) -> "pa.Schema":
    import pyarrow as pa

    fields = [pa.field("task_id", pa.int64(), nullable=False)]
    if with_split:
        fields.append(pa.field("split", pa.string(), nullable=False))
    fields.append(pa.field("data", pa.string(), nullable=False))
    fields.extend(pa.field(column, pa.string()) for column in variable_columns(context).values())
    fields += [
        pa.field("result", pa.string(), nullable=False),
        pa.field("annotation_ids", pa.list_(pa.int64()), nullable=False),
        pa.field("label", pa.string()),
    ]
    return pa.schema(fields)


def record_batches(
    items: Iterable[DatasetItem], context: DatasetContext, schema: "pa.Schema", *, rows: int | None = None
) -> Iterator[tuple[str, "pa.RecordBatch"]]:
    """(split, batch of at most ``rows`` items of that split) as items arrive, in the schema's columns.

    Items of several splits (the ``hf`` folder reads them all at once) are batched per split.
    """
    import pyarrow as pa

    rows = rows or BATCH_ROWS
    variables = variable_columns(context)
    with_split = "split" in schema.names
    pending: dict[str, list[DatasetItem]] = {}

    def batch(split: str, chunk: list[DatasetItem]) -> "pa.RecordBatch":
        # Column by column, in list comprehensions: a third faster than appending to each column per item.
        # The JSON columns are handed to Arrow as UTF-8 bytes, as orjson writes them (the same text).
        # An item's canonical JSON as the build's spool holds it (or encoded once, for other items).
        encoded = [item_json(item) for item in chunk]
        columns = {
            "task_id": [item.task_id for item in chunk],
            "split": [split] * len(chunk) if with_split else [],
            "data": [e.data for e in encoded],
            "result": [e.result for e in encoded],
            "annotation_ids": [[a[0] for a in e.annotations] for e in encoded],
            "label": [first_label(item.result) for item in chunk],
        }
        if variables:
            datas = [item.data for item in chunk]
            for variable, column in variables.items():
                values = [data.get(variable) for data in datas]
                columns[column] = [value if type(value) is str else None for value in values]
        return pa.RecordBatch.from_arrays(
            [pa.array(columns[name], type=schema.field(name).type) for name in schema.names], schema=schema
        )

    for item in items:
        chunk = pending.get(item.split)
        if chunk is None:
            chunk = pending[item.split] = []
        chunk.append(item)
        if len(chunk) >= rows:
            yield item.split, batch(item.split, chunk)
            del pending[item.split]
    for split, chunk in pending.items():
        yield split, batch(split, chunk)


def write_parquet(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    schema = arrow_schema(context)
    _write_batches((batch for _split, batch in record_batches(items, context, schema)), schema, stream)


def write_part_batches(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    """A part's items as Arrow record batches in an IPC stream: the costly conversion, done by a build's
    worker process; the join writes the Parquet file from them."""
    import pyarrow as pa

    schema = arrow_schema(context)
    with pa.ipc.new_stream(stream, schema) as writer:
        for _split, batch in record_batches(items, context, schema):
            writer.write_batch(batch)


def _batches_of_parts(paths: Sequence[Path], schema: "pa.Schema") -> Iterator["pa.RecordBatch"]:
    """The parts' rows in batches of BATCH_ROWS, as ``record_batches`` cuts all the items at once (a
    part's last batch is short, and the writer's pages follow the batches it is given), read a batch at
    a time: memory holds a batch, not a part."""
    import pyarrow as pa

    carry = None  # rows of a part's short last batch, fewer than BATCH_ROWS
    for path in paths:
        # Read into Arrow's own buffers (not a memory map): a batch may outlive its file's reader.
        with pa.OSFile(str(path)) as source, pa.ipc.open_stream(source) as reader:
            for batch in reader:
                if carry is None and batch.num_rows == BATCH_ROWS:
                    yield batch
                    continue
                table = pa.Table.from_batches([batch], schema=schema)
                if carry is not None:
                    table = pa.concat_tables([carry, table])
                table = table.combine_chunks()
                whole = table.num_rows - table.num_rows % BATCH_ROWS
                for start in range(0, whole, BATCH_ROWS):
                    yield table.slice(start, BATCH_ROWS).combine_chunks().to_batches()[0]
                carry = table.slice(whole) if whole < table.num_rows else None
    if carry is not None:
        yield carry.combine_chunks().to_batches()[0]


def _import_pyarrow() -> None:
    import pyarrow.ipc  # noqa: F401
    import pyarrow.parquet  # noqa: F401


def join_parts(paths: Sequence[Path], context: DatasetContext, stream: BinaryIO) -> None:
    schema = arrow_schema(context)
    _write_batches(_batches_of_parts(paths, schema), schema, stream)


def _write_batches(batches: Iterable["pa.RecordBatch"], schema: "pa.Schema", stream: BinaryIO) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    group_rows = ROW_GROUP_ROWS
    # Snappy: the format's usual codec, read by every Parquet reader, and cheap to write. Dictionaries and
    # min/max statistics only where values repeat or are short: on the JSON and text columns, where every
    # value differs, a dictionary is built only to be dropped and statistics of kilobyte strings say
    # nothing; leaving them out made writing the file three times faster.
    with pq.ParquetWriter(
        stream,
        schema,
        compression="snappy",
        use_dictionary=["split", "label"],
        write_statistics=["task_id", "split", "label"],
    ) as writer:
        # A write call never adds to the row group of the one before: batches are gathered until they
        # fill a group, so that every group but the last has group_rows rows whatever the batches.
        pending: list = []
        pending_rows = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            if pending_rows < group_rows:
                continue
            table = pa.Table.from_batches(pending, schema=schema)
            while table.num_rows >= group_rows:
                writer.write_table(table.slice(0, group_rows), row_group_size=group_rows)
                table = table.slice(group_rows)
            pending = table.to_batches()
            pending_rows = table.num_rows
        if pending_rows:
            writer.write_table(pa.Table.from_batches(pending, schema=schema), row_group_size=group_rows)


PARQUET = register(
    DatasetFormat(
        name="parquet",
        extension="parquet",
        content_type="application/vnd.apache.parquet",
        per_split=True,
        fits=fits_any_config,
        write=write_parquet,
        parts=PartsWriter(write_part=write_part_batches, join=join_parts, preload=_import_pyarrow),
    )
)
