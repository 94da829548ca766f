"""Server-side prepared statements for the written-out statements that every request runs.

On PostgreSQL, planning these short statements costs several times their execution: the token
lookup that authenticates every API call plans in about 0.7 ms and runs in 0.1 ms (its four joins),
and six annotators at once spend about a third of the database's CPU planning. psycopg2 sends each
statement as text, so PostgreSQL plans it anew every time; ``PREPARE`` once per connection and
``EXECUTE`` after lets it keep the plan (after five executions it keeps a generic one when that
costs no more than the ones it planned for the values).

Only statements whose plan does not depend on the values belong here: each is bounded by an equality
on a primary or unique key (or the few rows of one task), which the generic plan knows whatever the
values. A statement that filters on a value whose selectivity varies (a review state, a flag, a time)
stays a plain ``execute``, above all with ``ORDER BY … LIMIT``: the generic plan of ``/next``'s
held/drafted/rejected read guessed that a review state matched half the annotations and walked the
annotations' primary key for the first match, 1.2 s a call at 1M tasks (``bench/hot_paths_bench.py``).
So do the queue's candidate scan and the data table's pages.

``TESSERA_PREPARED_STATEMENTS=false`` turns this off, for a connection pooler that hands a session's
statements to other server connections (pgbouncer in transaction mode). Prepared statements outlive
a rollback (PostgreSQL does not make ``PREPARE`` transactional), so the per-connection record stays
true after an error; a new connection starts with an empty record.
"""

import re
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.backends.utils import CursorWrapper

_PLACEHOLDER = re.compile(r"%(s|%)")
_LABEL = re.compile(r"[a-z][a-z0-9_]{0,40}")
# On each Django connection (one per thread): the DB-API connection it had when statements were
# prepared, and those statements (SQL text -> name, number of parameters). A reconnect replaces the
# DB-API connection, and so starts an empty record.
_STATE = "_tessera_prepared"
# A statement whose text varies (a list of ids written out) would otherwise prepare without end on a
# long-lived connection; past this many, statements run unprepared.
MAX_PER_CONNECTION = 256


def _numbered(sql: str) -> tuple[str, int]:
    """``%s`` placeholders as ``$1``, ``$2``… (and ``%%`` as ``%``, which psycopg2 would have
    unescaped), with their count."""
    count = 0

    def number(match: re.Match) -> str:
        nonlocal count
        if match.group(1) == "%":
            return "%"
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql), count


def execute(cursor: CursorWrapper, label: str, sql: str, params: Sequence[Any] = ()) -> None:
    """``cursor.execute(sql, params)``, as a prepared statement on PostgreSQL.

    ``cursor`` is a Django cursor of the default database; ``label`` names the statement in the
    query log (``EXECUTE <label>_<n>(…)``). The ``PREPARE`` goes through the DB-API cursor, so it is
    not logged: a request costs the same number of logged queries on its first call as after."""
    if not _LABEL.fullmatch(label):
        raise ValueError(f"{label!r} is not a statement label (lower-case letters, digits, _)")
    connection = connections["default"]
    if connection.vendor != "postgresql" or not settings.TESSERA_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    state = connection.__dict__.get(_STATE)
    if state is None or state[0] is not connection.connection:
        state = (connection.connection, {})
        setattr(connection, _STATE, state)
    prepared: dict[str, tuple[str, int]] = state[1]
    known = prepared.get(sql)
    if known is None and len(prepared) >= MAX_PER_CONNECTION:
        cursor.execute(sql, params)
        return
    if known is None:
        numbered, count = _numbered(sql)
        known = (f"{label}_{len(prepared)}", count)
        cursor.cursor.execute(f"PREPARE {known[0]} AS {numbered}")
        prepared[sql] = known
    name, count = known
    _check(label, count, params)
    if params:
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
    else:
        cursor.execute(f"EXECUTE {name}")


def _check(label: str, count: int, params: Sequence[Any]) -> None:
    # A wrong count would otherwise reach PostgreSQL as an error that aborts the transaction.
    if count != len(params):
        raise ValueError(f"{label}: {count} placeholders for {len(params)} parameters")


def logged_sql(sql: str) -> str:
    """The statement behind a logged ``EXECUTE <name> (…)`` of this thread's connection (for tests and
    debugging, which read the query log); any other text as it is."""
    if not sql.startswith("EXECUTE "):
        return sql
    name = sql[len("EXECUTE ") :].split(" ", 1)[0]
    state = connections["default"].__dict__.get(_STATE)
    for text, (known, _count) in (state[1] if state else {}).items():
        if known == name:
            return text
    return sql
