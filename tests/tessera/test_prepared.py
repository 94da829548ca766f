"""Prepared statements (tessera/prepared.py): the same rows as a plain execute, one PREPARE per
statement and connection, nothing logged for it, and a plain execute where PostgreSQL is absent,
the setting is off or the connection holds too many."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tessera import prepared

pytestmark = pytest.mark.django_db

SQL = (
    "SELECT %s + 1, '100%%', %s::text" if connection.vendor == "postgresql" else "SELECT %s + 1, '100%%', %s"
)


def needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: prepared statements are PostgreSQL's")


def prepared_here() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY statement")
        return [row[0] for row in cursor.fetchall()]


def unique(tag: str) -> str:
    """The probe under a comment of its own: a connection outlives a test, and so do its statements."""
    return f"{SQL} /* {tag} */"


def run(sql=SQL, params=(41, "x"), label="probe"):
    with connection.cursor() as cursor:
        prepared.execute(cursor, label, sql, list(params))
        return cursor.fetchall()


def test_placeholders_are_numbered_and_escaped_percents_unescaped():
    assert prepared._numbered("SELECT %s, '5%%', %s") == ("SELECT $1, '5%', $2", 2)
    assert prepared._numbered("SELECT 1") == ("SELECT 1", 0)


def test_the_rows_are_those_of_a_plain_execute():
    with connection.cursor() as cursor:
        cursor.execute(SQL, [41, "x"])
        plain = cursor.fetchall()
    assert run() == plain == [(42, "100%", "x")]
    assert run(params=(1, "y")) == [(2, "100%", "y")]


def test_a_statement_is_prepared_once_per_connection_and_each_execute_logs_one_query():
    needs_postgresql()
    with CaptureQueriesContext(connection) as queries:
        run()
        run()
    assert len(queries) == 2 and all(query["sql"].startswith("EXECUTE probe_") for query in queries)
    assert sum("'100%'" in statement for statement in prepared_here()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    needs_postgresql()
    sql = unique("reconnect")
    run(sql)
    connection.close()
    assert not any("reconnect" in statement for statement in prepared_here())
    assert run(sql) == [(42, "100%", "x")]


def test_a_rolled_back_transaction_keeps_the_statement():
    needs_postgresql()
    with pytest.raises(RuntimeError), transaction.atomic():
        run(params=(5, "a"))
        raise RuntimeError("roll back")
    # PostgreSQL does not roll back PREPARE: the record of what is prepared stays true.
    assert run(params=(6, "b")) == [(7, "100%", "b")]


def test_the_setting_off_runs_plain_statements(settings):
    needs_postgresql()
    settings.TESSERA_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as queries:
        assert run(unique("setting off")) == [(42, "100%", "x")]
    assert queries[0]["sql"].startswith("SELECT")
    assert not any("setting off" in statement for statement in prepared_here())


def test_past_the_cap_statements_run_plain(monkeypatch):
    needs_postgresql()
    monkeypatch.setattr(prepared, "MAX_PER_CONNECTION", 0)
    with CaptureQueriesContext(connection) as queries:
        assert run(unique("past the cap")) == [(42, "100%", "x")]
    assert queries[0]["sql"].startswith("SELECT")


def test_a_label_must_be_a_plain_name_and_the_parameters_must_match():
    with pytest.raises(ValueError, match="not a statement label"):
        run(label="x; DROP TABLE y")
    if connection.vendor == "postgresql":
        run()
        # Checked on every call, not only when the statement is prepared.
        with pytest.raises(ValueError, match="2 placeholders for 1 parameters"):
            run(params=(1,), label="short")


def test_the_query_log_maps_back_to_the_statement():
    needs_postgresql()
    sql = unique("logged")
    with CaptureQueriesContext(connection) as queries:
        run(sql)
    assert prepared.logged_sql(queries[0]["sql"]) == sql
    assert prepared.logged_sql("SELECT 1") == "SELECT 1"
    assert prepared.logged_sql("EXECUTE unknown_9 (1)") == "EXECUTE unknown_9 (1)"
