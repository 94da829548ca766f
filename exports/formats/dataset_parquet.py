"""The ``parquet`` dataset format: one Parquet file per split, with an explicit, stable schema.

Columns, in this order (documented in docs/ARCHITECTURE.md, "Dataset formats"):

- ``task_id`` int64, not null;
- ``split`` string, not null;
- ``data`` string: the task's data as canonical JSON (keys sorted, UTF-8, compact);
- one string column per data variable of the config (``$text`` → ``text``), holding the value when it is
  a string and null otherwise (the full value is in ``data``); a variable named like one of the fixed
  columns is written as ``_data_<name>``, as the CSV export does for data named like a control;
- ``result`` string: the chosen result regions as canonical JSON;
- ``annotation_ids`` list<int64>: the annotations behind the item;
- ``label`` string, nullable: the first option chosen in ``result`` (None for a result with no choice).

Items are read as a stream and written in row groups of ``ROW_GROUP_ROWS``: memory holds one group,
however many items there are. The same items give the same bytes with the same pyarrow (its version is
in the file's ``created_by``); no time is written.
"""

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from annotation.result_labels import first_label
from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.canonical_json import canonical_json
from exports.formats.dataset_records import fits_any_config
from exports.formats.datasets import DatasetFormat, register

if TYPE_CHECKING:
    import pyarrow as pa

# pyarrow is imported where it is used: every process registers the formats at start-up, and importing
# pyarrow there cost each web worker 0.14 s and 70 MB that only a dataset build needs.

ROW_GROUP_ROWS = 10_000
FIXED_COLUMNS = ("task_id", "split", "data", "result", "annotation_ids", "label")


def variable_columns(context: DatasetContext) -> dict[str, str]:
    """{data variable: its column name}, in the config's order."""
    return {name: f"_data_{name}" if name in FIXED_COLUMNS else name for name in context.data_variables}


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
    items: Iterable[DatasetItem], context: DatasetContext, schema: "pa.Schema", *, rows: int = ROW_GROUP_ROWS
) -> Iterator[tuple[str, "pa.RecordBatch"]]:
    """(split, batch of at most ``rows`` items of that split) as items arrive, in the schema's columns.

    Items of several splits (the ``hf`` folder reads them all at once) are batched per split.
    """
    import pyarrow as pa

    variables = variable_columns(context)
    with_split = "split" in schema.names
    pending: dict[str, dict[str, list]] = {}

    def batch(columns: dict[str, list]) -> "pa.RecordBatch":
        return pa.RecordBatch.from_arrays(
            [pa.array(columns[name], type=schema.field(name).type) for name in schema.names], schema=schema
        )

    for item in items:
        columns = pending.get(item.split)
        if columns is None:
            columns = pending[item.split] = {name: [] for name in schema.names}
        columns["task_id"].append(item.task_id)
        if with_split:
            columns["split"].append(item.split)
        data = item.data
        columns["data"].append(canonical_json(data))
        for variable, column in variables.items():
            value = data.get(variable)
            columns[column].append(value if type(value) is str else None)
        columns["result"].append(canonical_json(item.result))
        columns["annotation_ids"].append([a.id for a in item.annotations])
        columns["label"].append(first_label(item.result))
        if len(columns["task_id"]) >= rows:
            yield item.split, batch(columns)
            del pending[item.split]
    for split, columns in pending.items():
        yield split, batch(columns)


def write_parquet(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    import pyarrow.parquet as pq

    schema = arrow_schema(context)
    # Snappy: the format's usual codec, read by every Parquet reader, and cheap to write.
    with pq.ParquetWriter(stream, schema, compression="snappy") as writer:
        for _split, batch in record_batches(items, context, schema, rows=ROW_GROUP_ROWS):
            writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)


PARQUET = register(
    DatasetFormat(
        name="parquet",
        extension="parquet",
        content_type="application/vnd.apache.parquet",
        per_split=True,
        fits=fits_any_config,
        write=write_parquet,
    )
)
