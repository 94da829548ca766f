"""The ``hf`` dataset format: a Hugging Face ``datasets`` folder, as ``DatasetDict.save_to_disk`` writes
it, with one split per recipe split, packed as one tar archive.

``datasets.load_from_disk(<the unpacked folder>)`` loads it, offline. Each split has the Parquet
format's columns (dataset_parquet.py) but ``split``, which the folder's layout already says, with the
features ``datasets`` derives from them (``annotation_ids`` a ``Sequence`` of int64, the rest strings).

How it stays streamed and reproducible:
- items arrive once, all splits together (``per_split`` False); each split's rows go, batch by batch,
  into an Arrow stream file of a private temporary folder (the format of save_to_disk's data files,
  with the features in the schema's metadata), so memory holds one batch per split, not the dataset.
  We build the files ourselves rather than through ``Dataset.from_generator``, which builds one split a
  call: the mixed items would have to be spooled per split first, and its builder would then encode
  every row again into a cache folder (and, without a fingerprint given, take one that differs on every
  run). Nothing is read from or written to the user's Hugging Face cache.
- ``save_to_disk`` writes the folder's metadata for empty splits of the same features, each with one
  data file, which each split's own file then replaces; the output is the same as saving the full
  splits, without reading every row back and writing it again (``write_hf``).
- each split's ``state.json`` holds a fingerprint, which ``datasets`` otherwise draws at random for a
  table it did not build; we pass the SHA-256 of the split's Arrow file (its content) instead.
- the archive lists its entries in sorted order, with time 0, owner 0 and fixed modes.
"""

import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from exports.datasets.items import DatasetContext, DatasetItem
from exports.formats.dataset_parquet import arrow_schema, record_batches
from exports.formats.dataset_records import fits_any_config
from exports.formats.datasets import DatasetFormat, register

# Splits in the order a reader expects them; any other split name follows, sorted.
SPLIT_ORDER = ("train", "validation", "test")
FINGERPRINT_CHARS = 16  # as long as the fingerprints datasets generates


def _split_key(split: str) -> tuple[int, str]:
    return (SPLIT_ORDER.index(split), "") if split in SPLIT_ORDER else (len(SPLIT_ORDER), split)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_tar(folder: Path, stream: BinaryIO) -> None:
    """``folder``'s files as a tar archive on ``stream``, entries sorted, times and owners zeroed."""
    paths = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*"))
    # "w|": the stream is written front to back, so a download or hashing pipe works as well as a file.
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.PAX_FORMAT) as archive:
        for name in paths:
            path = folder / name
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if path.is_dir():
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            else:
                info.mode = 0o644
                info.size = path.stat().st_size
                with path.open("rb") as file:
                    archive.addfile(info, file)


def write_hf(items: Iterable[DatasetItem], context: DatasetContext, stream: BinaryIO) -> None:
    # The datasets library reads this when it is first imported; it makes no request when writing,
    # and a worker must never wait on the network for one.
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets
    import pyarrow as pa
    from datasets.table import InMemoryTable

    features = datasets.Features.from_arrow_schema(arrow_schema(context, with_split=False))
    # The features' own Arrow schema carries them in its metadata, as save_to_disk's files do.
    schema = features.arrow_schema
    with tempfile.TemporaryDirectory(prefix="tessera-hf-") as temporary:
        root = Path(temporary)
        writers: dict[str, pa.RecordBatchStreamWriter] = {}
        files: dict[str, Path] = {}
        try:
            for split, batch in record_batches(items, context, schema):
                if split not in writers:
                    # Named by position, not by the split's name: names never become paths.
                    files[split] = root / f"split-{len(files)}.arrow"
                    writers[split] = pa.ipc.new_stream(str(files[split]), schema)
                writers[split].write_batch(batch)
        finally:
            for writer in writers.values():
                writer.close()
        # datasets writes the folder's metadata (dataset_dict.json, each split's dataset_info.json and
        # state.json) for empty splits of the same features, one data file each; each split's rows then
        # take that file's place. Handing save_to_disk the full splits instead made it read every row
        # back through a memory map and write it again: twice the disk writes, and the mapped pages
        # counted in the worker's RSS, which grew with the dataset (400 MB at 150,000 items).
        empty = {
            split: datasets.Dataset(
                InMemoryTable(schema.empty_table()),
                info=datasets.DatasetInfo(features=features),
                split=datasets.NamedSplit(split),
                fingerprint=_file_sha256(files[split])[:FINGERPRINT_CHARS],
            )
            for split in sorted(files, key=_split_key)
        }
        folder = root / "dataset"
        datasets.DatasetDict(empty).save_to_disk(str(folder), num_shards=dict.fromkeys(empty, 1))
        for index, split in enumerate(empty):
            split_folder = folder / split
            state = json.loads((split_folder / "state.json").read_text())
            (data_file,) = [entry["filename"] for entry in state["_data_files"]]
            if Path(data_file).name != data_file:
                raise ValueError(f"Unexpected data file {data_file!r} in split {index} of a datasets folder")
            os.replace(files[split], split_folder / data_file)
        write_tar(folder, stream)


HF = register(
    DatasetFormat(
        name="hf",
        extension="tar",
        content_type="application/x-tar",
        per_split=False,
        fits=fits_any_config,
        write=write_hf,
    )
)
