"""Set-based inserts: ``COPY`` on PostgreSQL, batched multi-row ``INSERT`` elsewhere.

Rows are tuples of plain values; JSON columns arrive already serialised as
text, so no model instance is built per row.
"""

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

from django.db import connection

SQLITE_BATCH_ROWS = 500
# Characters handed to PostgreSQL per read: large enough that per-call overhead vanishes,
# small enough that the server starts working on the first rows at once.
COPY_CHUNK_CHARS = 256 * 1024

# COPY's text format for NULL and booleans, for row formatters written for one table's columns.
COPY_NULL = r"\N"
COPY_BOOL = {True: "t", False: "f"}


def bulk_insert(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    constants: Mapping[str, object] | None = None,
    copy_line: Callable[[tuple], str] | None = None,
) -> int:
    """Insert ``rows``, each a tuple of values for ``columns``, then ``constants``: the columns whose
    value every row shares (the project, the timestamps), formatted once rather than once a row.

    ``copy_line`` formats one row's values as COPY text (``copy_text`` for strings, ``COPY_BOOL``,
    ``COPY_NULL``, tab-separated, no newline): an import's hot tables pass one written for their own
    columns, a few times faster than formatting value by value. Other databases ignore it.
    """
    constant_columns = tuple(constants or ())
    constant_values = tuple((constants or {}).values())
    if connection.vendor == "postgresql":
        return _copy_postgres(table, (*columns, *constant_columns), rows, constant_values, copy_line)
    if constant_values:
        rows = (row + constant_values for row in rows)
    return _insert_batches(table, (*columns, *constant_columns), rows)


def copy_text(text: str) -> str:
    """A string as a value of COPY's text format."""
    # COPY's text format gives meaning to backslash, tab and newline. Four C-level scans
    # cost less than one translate() on text that, like JSON, rarely holds any of them.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_value(value, memo: dict) -> str:
    kind = type(value)
    if kind is str:
        return copy_text(value)
    if kind is int:
        return str(value)
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if kind is datetime:
        # Every row of an import carries the same timestamps; format each once.
        text = memo.get(value)
        if text is None:
            text = memo[value] = str(value)
        return text
    return copy_text(str(value))


class _CopySource:
    """A file for ``copy_expert`` that formats rows as PostgreSQL reads them.

    Streaming instead of filling a buffer first lets the server parse, insert and index
    one chunk while Python formats the next: on two cores, most of the copy's database
    time hides behind the formatting.
    """

    def __init__(
        self, rows: Iterable[tuple], constant_values: tuple, copy_line: Callable[[tuple], str] | None
    ):
        self.rows = iter(rows)
        self.count = 0
        memo: dict = {}
        self.format = copy_line or (lambda row: "\t".join([_copy_value(value, memo) for value in row]))
        self.tail = "".join(["\t" + _copy_value(value, memo) for value in constant_values]) + "\n"

    def read(self, size: int = -1) -> str:
        lines = []
        length = 0
        format_row, tail = self.format, self.tail
        for row in self.rows:
            line = format_row(row) + tail
            lines.append(line)
            length += len(line)
            if 0 < size <= length:
                break
        self.count += len(lines)
        return "".join(lines)


def _copy_postgres(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    constant_values: tuple,
    copy_line: Callable[[tuple], str] | None,
) -> int:
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    source = _CopySource(itertools.chain((first,), rows), constant_values, copy_line)
    quoted = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f'COPY "{table}" ({quoted}) FROM STDIN', source, size=COPY_CHUNK_CHARS)
    return source.count


def copy_text_chunks(
    rows: Iterable[tuple],
    *,
    constants: Mapping[str, object],
    copy_line: Callable[[tuple], str],
    chunk_chars: int = COPY_CHUNK_CHARS,
) -> Iterator[str]:
    """The COPY text ``bulk_insert`` would send for these rows, a chunk at a time: for a process that
    formats rows another one copies (``copy_chunks``; the full agreement recompute's workers)."""
    source = _CopySource(rows, tuple(constants.values()), copy_line)
    while text := source.read(chunk_chars):
        yield text


def copy_chunks(
    table: str, columns: Sequence[str], chunks: Iterable[bytes], *, statement_bytes: int | None = None
) -> None:
    """PostgreSQL's COPY of text already formatted (``copy_text_chunks``, encoded as UTF-8);
    ``columns`` names every value of a line, the constants' columns last. With ``statement_bytes``, a
    new COPY statement starts after about that many bytes: under ``SET CONSTRAINTS ALL IMMEDIATE`` each
    statement's foreign-key checks then run while the producers work on the next chunks, instead of
    all of them at commit."""
    source = _ChunkSource(chunks, statement_bytes)
    quoted = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        while not source.exhausted:
            source.statement_sent = 0
            try:
                cursor.cursor.copy_expert(
                    f'COPY "{table}" ({quoted}) FROM STDIN', source, size=COPY_CHUNK_CHARS
                )
            except Exception:
                # The driver reports a producer's exception as a cancelled COPY: raise the producer's own.
                if source.error is not None:
                    raise source.error from None
                raise


class _ChunkSource:
    """A file for ``copy_expert`` over chunks of COPY text: each read returns the next chunk whole, and
    the end of the file once a statement has had ``statement_bytes``."""

    def __init__(self, chunks: Iterable[bytes], statement_bytes: int | None) -> None:
        self.chunks = iter(chunks)
        self.statement_bytes = statement_bytes
        self.statement_sent = 0
        self.exhausted = False
        self.error: Exception | None = None

    def read(self, size: int = -1) -> bytes:
        if self.statement_bytes is not None and self.statement_sent >= self.statement_bytes:
            return b""
        try:
            chunk = next(self.chunks, b"")
        except Exception as error:
            self.error = error
            raise
        if not chunk:
            self.exhausted = True
        self.statement_sent += len(chunk)
        return chunk


def _insert_batches(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    quoted = ", ".join(f'"{column}"' for column in columns)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    count = 0
    batch: list[tuple] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) == SQLITE_BATCH_ROWS:
                count += _flush(cursor, table, quoted, placeholders, batch)
                batch = []
        if batch:
            count += _flush(cursor, table, quoted, placeholders, batch)
    return count


def _flush(cursor, table: str, quoted: str, placeholders: str, batch: list[tuple]) -> int:
    values = ", ".join([placeholders] * len(batch))
    cursor.execute(f'INSERT INTO "{table}" ({quoted}) VALUES {values}', [v for row in batch for v in row])
    return len(batch)
