"""Checked batches of a background import, kept from its check pass to its write pass.

A background import checks every row before it writes any (a bad last row fails the job with
nothing written), so what the check pass made must reach the write pass. Under ``keep_chars``
characters of JSON text the batches stay in memory; past it, those kept so far and every later
one go to an anonymous temporary file, so the upload is parsed and checked once whatever its size
while the worker's memory stays bounded by one batch. Reading the upload a second time cost as much
as the first pass again (parse and check: about 18 s of a 1M-task import).

The rows are tuples of text, numbers, booleans and None, written with ``marshal`` one batch per
record (a length, then the bytes): they are this process's own values, written and read back by it,
never a client's bytes, and the file has no name on disk (removed by the system when closed, or
when the process dies). Plain Python, no ORM.
"""

import marshal
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

Batch = tuple[int, tuple[list, list, list]]  # (position of its first row, (tasks, annotations, predictions))

_LENGTH = struct.Struct("<Q")


class CheckedSpool:
    def __init__(self, *, keep_chars: int, directory: Path):
        self._keep_chars = keep_chars
        self._directory = directory
        self._chars = 0
        self._kept: list[Batch] = []
        self._file: IO[bytes] | None = None

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def add(self, batch: Batch, *, chars: int) -> None:
        if self._file is None:
            self._chars += chars
            if self._chars <= self._keep_chars:
                self._kept.append(batch)
                return
            self._directory.mkdir(parents=True, exist_ok=True)
            self._file = tempfile.TemporaryFile(dir=self._directory, prefix="checked-")
            for kept in self._kept:
                self._write(kept)
            self._kept = []
        self._write(batch)

    def _write(self, batch: Batch) -> None:
        assert self._file is not None
        record = marshal.dumps(batch)
        self._file.write(_LENGTH.pack(len(record)))
        self._file.write(record)

    def __iter__(self) -> Iterator[Batch]:
        if self._file is None:
            yield from self._kept
            return
        self._file.flush()
        self._file.seek(0)
        while header := self._file.read(_LENGTH.size):
            (length,) = _LENGTH.unpack(header)
            yield marshal.loads(self._file.read(length))  # noqa: S302 - this process's own records (see above)

    def close(self) -> None:
        self._kept = []
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "CheckedSpool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
