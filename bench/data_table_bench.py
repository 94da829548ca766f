"""The data table at scale (issue 8): filtered, sorted task pages against a live gunicorn on PostgreSQL.

On a fresh database, one project of N tasks is imported through the API (synchronous requests of
``--batch`` tasks): varied English financial-news text and, one task in four, Japanese text; about
two tasks in three annotated by one to three of four annotators, each result a sentiment choice and
one or two NER spans with region ids; half the tasks with a prediction from one of three model
versions with a score. The import's throughput is reported (it writes each task's label set and
maintains the label index; full-text search rows are written after it, by the indexing job, run here
once after the imports with ``manage.py tessera_index_search`` and timed apart). Then ``VACUUM ANALYZE`` and, each ``--samples`` times on
pages drawn from the first five (the pages people look at):

* full-text filter on ``data.text`` (``search``) + sort by ``-total_annotations``, page of 50: a
  common English term, a rare one (one task in 1,000) and a Japanese one (p50/p99 each);
* label filter (``labels:label`` contains ``PER``) + the same sort (p50/p99);
* annotator filter (one annotator's tasks) + the same sort (p50/p99);
* unfiltered page sorted by ``-total_annotations`` (p50/p99).

Each filtered answer includes its capped count (``TESSERA_TASK_FILTER_COUNT_CAP``). One JSON line is
printed. Every request goes to 127.0.0.1; the server and the database are removed at the end.

Usage (from the repository root)::

    .venv/bin/python bench/data_table_bench.py --tasks 100000
    .venv/bin/python bench/data_table_bench.py --tasks 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench  # noqa: E402 - the sibling script's server, client and database helpers
from api_bench import CHOICES, Client, ms, task_text  # noqa: E402

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/><Label value="MONEY"/></Labels>
</View>"""

ANNOTATORS = [f"annotator{i}@tessera.test" for i in range(1, 5)]
MODEL_VERSIONS = ["bert-v1", "bert-v2", "gpt-ft-3"]
PAGE_SIZE = 50
JA_COMPANIES = ["東京電機", "大阪銀行", "名古屋製作所", "横浜商事", "札幌食品", "福岡通信"]
JA_EVENTS = ["配当金を引き上げた", "業績予想を下方修正した", "新製品を発表した", "社長が交代した",
             "四半期決算で増益となった", "海外子会社を売却した"]  # fmt: skip
RARE_WORD = "zeppelin"
COMMON_WORD = "guidance"
JAPANESE_WORD = "配当金"


def region_id(rng: random.Random) -> str:
    return "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(10)
    )


def make_task(index: int, rng: random.Random) -> dict:
    english, org, money = task_text(index)
    if index % 4 == 3:
        company = JA_COMPANIES[index % len(JA_COMPANIES)]
        text = f"{company}は{JA_EVENTS[(index // 4) % len(JA_EVENTS)]}。報告番号{index}。"
        spans = [((0, len(company)), "ORG")]
    else:
        text = english
        if index % 1000 == 5:
            text = f"{text} The {RARE_WORD} deal closed."
        spans = [(org, "ORG"), (money, "MONEY")]
        if index % 3 == 0:
            spans = [(org, "PER"), (money, "MONEY")]
    task: dict = {"data": {"text": text, "source": ("wire", "blog", "filing")[index % 3]}}
    annotators = rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 3])
    task["annotations"] = [
        {
            "completed_by": email,
            "lead_time": round(rng.uniform(2, 30), 1),
            "result": [
                {
                    "id": region_id(rng),
                    "from_name": "sentiment",
                    "to_name": "text",
                    "type": "choices",
                    "origin": "manual",
                    "value": {"choices": [rng.choice(CHOICES)]},
                },
                *(
                    {
                        "id": region_id(rng),
                        "from_name": "label",
                        "to_name": "text",
                        "type": "labels",
                        "origin": "manual",
                        "value": {"start": start, "end": end, "labels": [label], "text": text[start:end]},
                    }
                    for (start, end), label in spans
                ),
            ],
        }  # fmt: skip
        for email in rng.sample(ANNOTATORS, annotators)
    ]
    if index % 2 == 0:
        task["predictions"] = [
            {"model_version": MODEL_VERSIONS[index % 3], "score": round(rng.random(), 3),
             "result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                         "value": {"choices": [rng.choice(CHOICES)]}}]}
        ]  # fmt: skip
    return task


def make_batch(first: int, count: int) -> bytes:
    rng = random.Random(first)
    return json.dumps(
        [make_task(index, rng) for index in range(first, first + count)], ensure_ascii=False
    ).encode()


def filter_param(*items: dict) -> str:
    return quote(json.dumps({"conjunction": "and", "items": list(items)}, ensure_ascii=False))


def item(column: str, operator: str, value, kind: str = "String") -> dict:
    return {"filter": f"filter:tasks:{column}", "operator": operator, "type": kind, "value": value}


def time_pages(client: Client, url: str, samples: int, rng: random.Random, *, pages: int = 5) -> dict:
    timings = []
    matched = None
    for _ in range(samples):
        page = rng.randint(1, pages)
        status, body, elapsed = client.request("GET", f"{url}&page={page}&page_size={PAGE_SIZE}")
        if status == 404:  # fewer pages than drawn: the first page instead
            status, body, elapsed = client.request("GET", f"{url}&page=1&page_size={PAGE_SIZE}")
        if status != 200:
            raise RuntimeError(f"{url} answered {status}: {body[:300]!r}")
        timings.append(elapsed)
        if matched is None:
            answer = json.loads(body)
            matched = {"total": answer["total"], "total_exact": answer["total_exact"]}
    return {"p50_ms": ms(timings, 0.5), "p99_ms": ms(timings, 0.99), "n": len(timings), **(matched or {})}


def run(args: argparse.Namespace) -> dict:
    total = args.tasks
    rng = random.Random(total)
    load_at_start = api_bench.load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    log_path = data_dir / "gunicorn.log"
    environment = api_bench.server_environment(args, data_dir)
    if not args.reuse_db:
        api_bench.database_create(args.database_url)
    try:
        api_bench.manage(environment, "migrate", "--no-input")
        token = api_bench.manage(
            environment, "tessera_user", "bench@tessera.test", "--org", "Bench", "--role", "owner", "--token"
        ).strip().splitlines()[-1]  # fmt: skip
        for email in ANNOTATORS:
            api_bench.manage(environment, "tessera_user", email, "--org", "Bench", "--role", "annotator")
        if args.without_search_indexes:
            _drop_search_indexes(args)
        with api_bench.benchmark_server(args, environment, log_path) as server:
            client = Client(server.port, token)
            imported: dict = {"tasks_per_s": None, "reused": True}
            indexing_seconds = 0.0
            project = _kept_project(args) if args.reuse_db else None
            if project is None:
                project = api_bench.create_project(client, "Data table", CONFIG)
                imported = api_bench.import_tasks(client, project, total, args.batch, make_batch)
                # Search rows are written after the imports by a job (no worker runs here): the same
                # service, run once in a process of its own, timed apart from the import.
                indexing_started = time.perf_counter()
                if not args.without_search_indexes:
                    api_bench.manage(environment, "tessera_index_search", "--project", str(project))
                indexing_seconds = time.perf_counter() - indexing_started
                api_bench.database_analyze(args.database_url)
            annotator_id = _user_id(args, ANNOTATORS[0])
            base = f"/api/tasks/?project={project}&ordering=-total_annotations"
            urls = {
                "search_common_english": f"{base}&filters={filter_param(item('data.text', 'search', COMMON_WORD))}",
                "search_rare_english": f"{base}&filters={filter_param(item('data.text', 'search', RARE_WORD))}",
                "search_japanese": f"{base}&filters={filter_param(item('data.text', 'search', JAPANESE_WORD))}",
                "label_filter": f"{base}&filters={filter_param(item('labels:label', 'contains', 'PER'))}",
                "annotator_filter": f"{base}&filters={filter_param(item('annotators', 'contains', annotator_id, 'List'))}",
                "unfiltered_sorted": base,
            }
            for url in urls.values():  # warm every worker's code path and the database's cache once
                for _ in range(2 * args.workers):
                    client.request("GET", f"{url}&page=1&page_size={PAGE_SIZE}")
            timed = {name: time_pages(client, url, args.samples, rng) for name, url in urls.items()}
            client.close()
    finally:
        if not (args.keep_db or args.reuse_db):
            api_bench.database_drop(args.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "bench": "data_table",
        "tasks": total,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_start_end": [load_at_start, api_bench.load_average()],
        },
        "server": {"gunicorn_workers": args.workers, "threads": args.threads, "database": "postgresql"},
        "page_size": PAGE_SIZE,
        "search_indexes": not args.without_search_indexes,
        "import_tasks_per_s": imported["tasks_per_s"],
        "import": imported,
        "search_index": {
            "seconds": round(indexing_seconds, 3),
            "tasks_per_s": round(total / indexing_seconds) if indexing_seconds > 0.01 else None,
        },
        "pages": timed,
    }


SEARCH_INDEXES = ("task_search_text_trgm", "task_labels_gin", "task_project_annotations")


def _drop_search_indexes(args: argparse.Namespace) -> None:
    """For an A/B measure of what the data table's indexes cost the import (pages then scan)."""
    connection = api_bench._bench_connection(args.database_url)
    with connection.cursor() as cursor:
        for name in SEARCH_INDEXES:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    connection.close()


def _kept_project(args: argparse.Namespace) -> int | None:
    """The project a ``--keep-db`` run filled, if it holds ``--tasks`` tasks."""
    connection = api_bench._bench_connection(args.database_url)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM annotation_project p WHERE p.title = 'Data table' "
            "AND (SELECT count(*) FROM annotation_task t WHERE t.project_id = p.id) = %s ORDER BY p.id DESC",
            [args.tasks],
        )
        row = cursor.fetchone()
    connection.close()
    return row[0] if row else None


def _user_id(args: argparse.Namespace, email: str) -> int:
    connection = api_bench._bench_connection(args.database_url)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM tessera_user WHERE email = %s", [email])
        user_id = cursor.fetchone()[0]
    connection.close()
    return user_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the project")
    parser.add_argument("--batch", type=int, default=10_000, help="tasks per import request")
    parser.add_argument("--samples", type=int, default=200, help="timed requests per figure")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--database-url",
        default=api_bench.DEFAULT_DATABASE_URL.replace("tessera_bench", "tessera_bench_datatable"),
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="time the pages of the project a --keep-db run left (same --tasks), without importing again",
    )
    parser.add_argument(
        "--without-search-indexes",
        action="store_true",
        help="drop the data table's indexes before importing (to measure what they cost the import)",
    )
    args = parser.parse_args()
    if args.tasks < 100:
        parser.error("--tasks must be at least 100")
    api_bench._database_name(args.database_url)
    print(json.dumps(run(args), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
