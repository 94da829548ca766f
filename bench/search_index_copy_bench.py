"""What the full-text trigram index costs inside an import, and what the job that replaced it costs after.

On a scratch PostgreSQL database, a table shaped like ``annotation_task`` (bigserial id, project id,
jsonb data) receives N tasks of about 200 characters of JSON text (English, one in four Japanese) by
``COPY``, three ways, each on fresh tables:

* ``copy_with_trigram``: the task table carries the pg_trgm GIN index on ``data::text`` (the design
  before migration 0012: every import paid for it);
* ``copy_without_trigram``: no such index (an import now);
* ``copy_with_labels_and_sorted``: no trigram index, but the data table's two other indexes (the
  GIN on ``labels`` and the ``(project_id, total_annotations, id)`` btree), which imports still keep;
* ``index_job``: after the COPY without them, the search rows written as the job writes them (``INSERT … SELECT
  id, project_id, data::text … ON CONFLICT DO NOTHING`` in id-ordered batches of 20,000) into a table
  with the trigram index, outside the import.

One JSON line is printed; the scratch database is dropped at the end.

Usage::

    .venv/bin/python bench/search_index_copy_bench.py --tasks 100000
"""

import argparse
import io
import json
import os
import random
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import psycopg2

WORDS = "bank rates market shares bond yield profit loss merger growth inflation dividend earnings".split()
JAPANESE = ["東京の銀行が金利を引き上げた", "配当金の支払いが発表された", "市場は大きく下落した"]


LABELS = [
    '{"sentiment": ["Positive"], "label": ["ORG"]}',
    '{"sentiment": ["Negative"], "label": ["PER", "MONEY"]}',
    "{}",
]


def _task(rng: random.Random, index: int) -> str:
    if index % 4 == 3:
        text = "".join(rng.choice(JAPANESE) for _ in range(4))
    else:
        text = " ".join(rng.choice(WORDS) for _ in range(28))
    return json.dumps({"text": text[:190], "source": "wire"}, ensure_ascii=False)


def _connect(url: str, dbname: str):
    parts = urlsplit(url)
    connection = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, dbname=dbname,
    )  # fmt: skip
    connection.autocommit = True
    return connection


def _fresh(cursor, *, trigram_on_task: bool, labels_and_sorted: bool = False) -> None:
    cursor.execute("DROP TABLE IF EXISTS s, t")
    cursor.execute(
        "CREATE TABLE t (id bigserial PRIMARY KEY, project_id bigint NOT NULL, data jsonb NOT NULL, "
        "labels jsonb NOT NULL, total_annotations integer NOT NULL)"
    )
    cursor.execute("CREATE INDEX t_project ON t (project_id)")
    cursor.execute(
        "CREATE TABLE s (task_id bigint PRIMARY KEY, project_id bigint NOT NULL, text text NOT NULL)"
    )
    cursor.execute("CREATE INDEX s_project ON s (project_id)")
    cursor.execute("CREATE INDEX s_trgm ON s USING gin (text gin_trgm_ops)")
    if trigram_on_task:
        cursor.execute("CREATE INDEX t_trgm ON t USING gin ((data::text) gin_trgm_ops)")
    if labels_and_sorted:
        cursor.execute("CREATE INDEX t_labels ON t USING gin (labels jsonb_path_ops)")
        cursor.execute("CREATE INDEX t_sorted ON t (project_id, total_annotations, id)")


def _copy(connection, body: str) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.copy_expert(
            "COPY t (project_id, data, labels, total_annotations) FROM STDIN", io.StringIO(body)
        )
    return time.perf_counter() - started


def _index_job(connection, batch: int) -> float:
    started = time.perf_counter()
    after = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "WITH b AS (SELECT id, project_id, data::text AS text FROM t WHERE project_id = 1 AND id > %s "
                "ORDER BY id LIMIT %s), i AS (INSERT INTO s SELECT * FROM b ON CONFLICT DO NOTHING RETURNING 1) "
                "SELECT MAX(id), COUNT(*) FROM b",
                [after, batch],
            )
            high, count = cursor.fetchone()
            if not count:
                break
            after = high
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    rng = random.Random(args.tasks)
    body = "".join(
        "1\t" + _task(rng, i).replace("\\", "\\\\") + f"\t{LABELS[i % 3]}\t{2 - i % 3}\n"
        for i in range(args.tasks)
    )
    scratch = f"tessera_bench_search_copy_{os.getpid()}"
    admin = _connect(args.database_url, urlsplit(args.database_url).path.lstrip("/") or "postgres")
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{scratch}"')
    load_start = os.getloadavg()[0]
    try:
        connection = _connect(args.database_url, scratch)
        with connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            _fresh(cursor, trigram_on_task=True)
        with_trigram = _copy(connection, body)
        with connection.cursor() as cursor:
            _fresh(cursor, trigram_on_task=False, labels_and_sorted=True)
        labels_and_sorted = _copy(connection, body)
        with connection.cursor() as cursor:
            _fresh(cursor, trigram_on_task=False)
        without_trigram = _copy(connection, body)
        job = _index_job(connection, args.batch)
        connection.close()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()
    per_task_us = lambda seconds: round(seconds / args.tasks * 1e6, 1)  # noqa: E731
    print(
        json.dumps(
            {
                "bench": "search_index_copy",
                "tasks": args.tasks,
                "chars_per_task": round(len(body) / args.tasks),
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "load_avg_1m_start_end": [load_start, os.getloadavg()[0]],
                },
                "copy_with_trigram_s": round(with_trigram, 3),
                "copy_without_trigram_s": round(without_trigram, 3),
                "copy_with_labels_and_sorted_s": round(labels_and_sorted, 3),
                "index_job_s": round(job, 3),
                "us_per_task": {
                    "copy_with_trigram": per_task_us(with_trigram),
                    "copy_without_trigram": per_task_us(without_trigram),
                    "copy_with_labels_and_sorted": per_task_us(labels_and_sorted),
                    "index_job": per_task_us(job),
                },
            },
            ensure_ascii=False,
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
