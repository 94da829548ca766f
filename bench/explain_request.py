"""The plans behind one API request: run it in process against a benchmark database and show
``EXPLAIN (ANALYZE, BUFFERS)`` for each of its statements that took longer than ``--min-ms``.

For a slow figure of a benchmark that kept its database (``data_table_bench.py --keep-db``): the request
goes through Django's test client signed in as ``--user`` (no server needed), every statement it runs is
captured with its parameters, then the statements are replayed in one transaction that is rolled back:
``SET`` statements and ``set_config`` calls (the data table's walk sets planner switches) as they were, the slow
reads under ``EXPLAIN (ANALYZE, BUFFERS)``. Writes are never replayed.

Usage (from the repository root)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tessera_bench_table \\
        .venv/bin/python bench/explain_request.py --user bench@tessera.test --min-ms 20 \\
        '/api/tasks/?project=1&ordering=-total_annotations&filters=...'
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="the request's path and query string")
    parser.add_argument("--user", required=True, help="e-mail of the member the request is made as")
    parser.add_argument("--min-ms", type=float, default=20.0, help="explain statements slower than this")
    parser.add_argument("--repeat", type=int, default=3, help="requests made first, to warm the caches")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to the benchmark's PostgreSQL database")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")

    import django

    django.setup()
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tessera.models import User

    client = Client()
    client.force_login(User.objects.get(email=args.user))
    for _ in range(args.repeat):
        client.get(args.path)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = client.get(args.path)
        elapsed = (time.perf_counter() - started) * 1000
    print(f"{response.status_code} in {elapsed:.1f} ms, {len(captured.captured_queries)} statements")
    with transaction.atomic(), connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql, took = query["sql"], float(query["time"]) * 1000
            head = sql.lstrip().split(None, 1)[0].upper()
            if head == "SET" or "set_config(" in sql:
                cursor.execute(sql)
                print(f"\n-- replayed: {sql}")
                continue
            if head != "SELECT" or took < args.min_ms:
                continue
            print(f"\n-- {took:.1f} ms: {sql}")
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print("\n".join(row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
