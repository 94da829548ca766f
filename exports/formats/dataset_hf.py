"""The ``hf`` dataset format: a Hugging Face ``datasets`` folder, as ``DatasetDict.save_to_disk`` writes
it, with one split per recipe split, packed as one tar archive.

``datasets.load_from_disk(<the unpacked folder>)`` loads it, offline. Each split has the Parquet
format's columns (dataset_parquet.py) but ``split``, which the folder's layout already says, with the
features ``datasets`` derives from them (``annotation_ids`` a ``Sequence`` of int64, the rest strings).

How it stays streamed and reproducible:
- items arrive once, all splits together (``per_split`` False); each split's rows go, batch by batch,
  into an Arrow stream file of a private temporary folder, which ``datasets`` then memory-maps
  (``MemoryMappedTable``), so memory holds one batch per split, not the dataset. We build the tables
  ourselves rather than through ``Dataset.from_generator``, which builds one split a call: the mixed
  items would have to be spooled per split first, and its builder would then encode every row again
  into a cache folder (and, without a fingerprint given, take one that differs on every run). Nothing
  is read from or written to the user's Hugging Face cache.
- ``save_to_disk`` writes each split's ``state.json`` with the dataset's fingerprint, which ``datasets``
  otherwise draws at random for a table read from a file; we pass the SHA-256 of the split's Arrow file
  (its content) instead.
- the archive lists its entries in sorted order, with time 0, owner 0 and fixed modes.
"""

import hashlib
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
    from datasets.table import MemoryMappedTable

    features = datasets.Features.from_arrow_schema(arrow_schema(context, with_split=False))
    # The features' own Arrow schema carries them in its metadata, so the files say what they hold.
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
        splits = {}
        for split in sorted(files, key=_split_key):
            splits[split] = datasets.Dataset(
                MemoryMappedTable.from_file(str(files[split])),
                info=datasets.DatasetInfo(features=features),
                split=datasets.NamedSplit(split),
                fingerprint=_file_sha256(files[split])[:FINGERPRINT_CHARS],
            )
        folder = root / "dataset"
        datasets.DatasetDict(splits).save_to_disk(str(folder))
        del splits  # the memory maps, before the folder they map is removed
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
