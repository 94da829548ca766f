"""Set-based inserts: ``COPY`` on PostgreSQL, batched multi-row ``INSERT`` elsewhere.

Rows are tuples of plain values; JSON columns arrive already serialised as
text, so no model instance is built per row.
"""

import io
from collections.abc import Iterable, Sequence

from django.db import connection

SQLITE_BATCH_ROWS = 500


def bulk_insert(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    if connection.vendor == "postgresql":
        return _copy_postgres(table, columns, rows)
    return _insert_batches(table, columns, rows)


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    # COPY's text format gives meaning to backslash, tab and newline.
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _copy_postgres(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(map(_copy_value, row)))
        buffer.write("\n")
        count += 1
    if not count:
        return 0
    buffer.seek(0)
    quoted = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f'COPY "{table}" ({quoted}) FROM STDIN', buffer)
    return count


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
