"""Core API benchmark (issue 3): a live gunicorn server on PostgreSQL, driven over HTTP.

For each size given on the command line it creates a fresh database, migrates it,
starts gunicorn serving ``tessera.wsgi`` and measures, from one client:

* import of unlabeled tasks and of labeled tasks (one annotation each), in batches
  per request, as tasks per second of request time;
* ``GET /api/tasks/?project=&page=&page_size=100`` on random pages (p50, p99);
* the annotator loop: ``GET /api/projects/{id}/next`` then
  ``POST /api/tasks/{id}/annotations/`` (p50, p99 of each);
* ``GET /api/projects/{id}/export?exportType=JSON`` of the fully labeled project,
  streamed and discarded, as tasks per second, while a sampler reads the RSS of the
  gunicorn worker processes from ``/proc``. The export runs on a freshly started
  server, so that memory the workers kept from the imports does not hide growth.

It prints one JSON line per size. Every request goes to 127.0.0.1; the number of
requests is bounded by the options, each has a timeout, and the server and the
database are removed at the end (``--keep-db`` keeps the database).

Usage (from the repository root)::

    .venv/bin/python bench/api_bench.py --tasks 10000
    .venv/bin/python bench/api_bench.py --tasks 100000 1000000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
GUNICORN = REPO / ".venv" / "bin" / "gunicorn"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tessera_bench"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
REQUEST_TIMEOUT_S = 900

SENTIMENT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""

NER_CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="ORG"/><Label value="PER"/><Label value="MONEY"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""

COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Holdings", "Stark Industries", "Wayne Enterprises"]
VERBS = ["beat", "missed", "matched", "raised", "cut", "reaffirmed"]
OBJECTS = [
    "quarterly earnings estimates",
    "its full-year guidance",
    "analyst revenue forecasts",
    "its dividend",
]
CHOICES = ["Positive", "Negative", "Neutral"]


# ---------------------------------------------------------------- workload


def task_text(index: int) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """A financial-news sentence (~110 characters) with the character spans of its company and amount."""
    company = COMPANIES[index % len(COMPANIES)]
    amount = f"${(index % 997) + 1}.{index % 10} million"
    text = (
        f"{company} {VERBS[index % len(VERBS)]} {OBJECTS[index % len(OBJECTS)]} on revenue of {amount}, "
        f"report #{index} says."
    )
    start = text.index(amount)
    return text, (0, len(company)), (start, start + len(amount))


def unlabeled_batch(first: int, count: int) -> bytes:
    return json.dumps([{"text": task_text(i)[0]} for i in range(first, first + count)]).encode()


def labeled_batch(first: int, count: int, kind: str) -> bytes:
    tasks = []
    for i in range(first, first + count):
        text, org, money = task_text(i)
        if kind == "ner":
            result = [
                {"from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": start, "end": end, "labels": [label], "text": text[start:end]}}
                for (start, end), label in ((org, "ORG"), (money, "MONEY"))
            ]  # fmt: skip
        else:
            result = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                       "value": {"choices": [CHOICES[i % 3]]}}]  # fmt: skip
        tasks.append({"data": {"text": text}, "annotations": [{"result": result, "lead_time": 4.2}]})
    return json.dumps(tasks).encode()


# ---------------------------------------------------------------- HTTP client


class Client:
    """A keep-alive HTTP/1.1 client on the standard library: a few microseconds per request, so the
    latencies measured are the server's, not a client library's."""

    def __init__(self, port: int, token: str):
        self.port = port
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.connection: http.client.HTTPConnection | None = None
        self.requests = 0
        self.last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        # gunicorn closes a keep-alive connection idle for 2 s; a POST on it would fail half sent (and
        # is not retried), so a connection idle that long is replaced before use.
        if self.connection is not None and time.monotonic() - self.last_used > 1.5:
            self.close()
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
            self.connection.connect()
            self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes, float]:
        """(status, body, seconds). A connection the server closed is reopened once, for GETs only."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            connection = self._connection()
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                self.last_used = time.monotonic()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if method != "GET" or attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            self.requests += 1
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, payload, elapsed
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body=None, *, expect: int | tuple[int, ...] = 200):
        raw = None if body is None else json.dumps(body).encode()
        status, payload, elapsed = self.request(method, path, raw)
        expected = (expect,) if isinstance(expect, int) else expect
        if status not in expected:
            raise RuntimeError(f"{method} {path} answered {status}: {payload[:500]!r}")
        return (json.loads(payload) if payload else None), elapsed


# ---------------------------------------------------------------- server and database


def _database_name(database_url: str) -> str:
    parts = urlsplit(database_url)
    if parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"The benchmark only talks to 127.0.0.1; {parts.hostname!r} is not local.")
    name = parts.path.lstrip("/")
    if not name or not name.replace("_", "").isalnum():
        raise SystemExit(f"Unusable database name {name!r}.")
    return name


def _admin_connection(database_url: str):
    import psycopg2

    parts = urlsplit(database_url)
    connection = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, dbname="postgres",
    )  # fmt: skip
    connection.autocommit = True
    return connection


def database_create(database_url: str) -> None:
    name = _database_name(database_url)
    connection = _admin_connection(database_url)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def database_drop(database_url: str) -> None:
    name = _database_name(database_url)
    connection = _admin_connection(database_url)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def _bench_connection(database_url: str):
    import psycopg2

    parts = urlsplit(database_url)
    connection = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username or "postgres",
        password=parts.password, dbname=_database_name(database_url),
    )  # fmt: skip
    connection.autocommit = True
    return connection


def database_analyze(database_url: str) -> None:
    """A freshly copied million rows have no statistics until autovacuum gets to them; a real server
    would have them by the time anyone pages, so give the planner what it would have."""
    connection = _bench_connection(database_url)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connection.close()


def server_environment(args: argparse.Namespace, data_dir: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        DATABASE_URL=args.database_url,
        TESSERA_DATA_DIR=str(data_dir),
        TESSERA_SECRET_KEY="bench-only-secret-key-not-for-production-" + "x" * 20,
        TESSERA_DEBUG="false",
        TESSERA_LOG_LEVEL="WARNING",
        # Imports run synchronously in the request: the benchmark measures the import path itself,
        # not a broker's queueing delay. Batches stay far below these limits.
        TESSERA_SYNC_IMPORT_MAX_BYTES=str(4 * 1024**3),
        TESSERA_MAX_UPLOAD_BYTES=str(4 * 1024**3),
        TESSERA_MAX_TASKS_PER_IMPORT=str(max(args.batch, 1)),
        PYTHONUNBUFFERED="1",
    )
    return environment


def manage(environment: dict[str, str], *arguments: str) -> str:
    completed = subprocess.run(
        [str(PYTHON), "manage.py", *arguments], cwd=REPO, env=environment, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(arguments)} failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


def owner_token(environment: dict[str, str]) -> str:
    """The API token of the benchmark's owner, bench@tessera.test in the organization Bench (made here)."""
    output = manage(
        environment, "tessera_user", "bench@tessera.test", "--org", "Bench", "--role", "owner", "--token"
    )
    return output.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn in its own process group, so that stopping it stops every worker it forked."""

    def __init__(self, args: argparse.Namespace, environment: dict[str, str], log_path: Path):
        self.port = free_port()
        self.log = log_path.open("ab")
        command = [
            str(GUNICORN), "tessera.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
            "--keep-alive", "30", "--timeout", str(REQUEST_TIMEOUT_S), "--graceful-timeout", "5",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                if len(self.worker_pids()) >= args.workers:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not start within 60 s; see {log_path}")

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name sits in parentheses and may hold spaces; ppid is the second field after it.
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        stop_process_group(self.process)
        self.log.close()


def stop_process_group(process: subprocess.Popen, *, timeout: float = 15) -> None:
    """SIGTERM the process's whole group (gunicorn's or celery's children too), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=15)


def proc_field_mb(path: str, field: str) -> float:
    """A ``<field>: <n> kB`` line of a /proc file, in MB (0 when the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(command_line_part: str) -> float:
    """User and system CPU seconds of every process whose command line holds this text (a server's
    workers, or PostgreSQL's backends of one database: their titles name it)."""
    needle = command_line_part.encode()
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "cmdline").read_bytes():
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    return proc_field_mb(f"/proc/{pid}/status", "VmRSS:")


class RssSampler(threading.Thread):
    """Samples the gunicorn workers' RSS every few milliseconds while an export streams."""

    def __init__(self, pids: list[int], interval: float = 0.02):
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.samples: list[tuple[float, dict[int, float]]] = []
        self.finished = threading.Event()

    def run(self) -> None:
        started = time.perf_counter()
        while not self.finished.is_set():
            self.samples.append((time.perf_counter() - started, {pid: rss_mb(pid) for pid in self.pids}))
            time.sleep(self.interval)

    def stop(self) -> None:
        self.finished.set()
        self.join()


# ---------------------------------------------------------------- measurements


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def ms(values: list[float], fraction: float) -> float:
    return round(percentile(values, fraction) * 1000, 2)


def create_project(client: Client, title: str, config: str) -> int:
    body, _ = client.json("POST", "/api/projects/", {"title": title, "label_config": config}, expect=201)
    return body["id"]


def import_tasks(client: Client, project_id: int, total: int, batch: int, make_batch) -> dict:
    """Sends ``total`` tasks in batches; the clock runs only while a request is in flight."""
    seconds = 0.0
    imported = 0
    per_batch: list[float] = []
    for first in range(0, total, batch):
        payload = make_batch(first, min(batch, total - first))
        status, body, elapsed = client.request("POST", f"/api/projects/{project_id}/import", payload)
        if status != 201:
            raise RuntimeError(f"import answered {status}: {body[:500]!r}")
        answer = json.loads(body)
        if "import" in answer:
            raise RuntimeError(
                "the import became a background job; the benchmark expects synchronous imports"
            )
        imported += answer["task_count"]
        seconds += elapsed
        per_batch.append(round(elapsed, 2))
    if imported != total:
        raise RuntimeError(f"imported {imported} tasks, expected {total}")
    # Per-request seconds show whether a batch costs more as the tables grow.
    return {
        "tasks": imported,
        "seconds": round(seconds, 3),
        "tasks_per_s": round(imported / seconds),
        "batch_seconds": per_batch,
    }


def list_pages(client: Client, project_id: int, total: int, samples: int, rng: random.Random) -> list[float]:
    pages = max(1, -(-total // 100))
    timings = []
    for index in range(samples + 10):
        page = rng.randint(1, pages)
        body, elapsed = client.json("GET", f"/api/tasks/?project={project_id}&page={page}&page_size=100")
        if body["total"] != total or not body["tasks"]:
            raise RuntimeError(f"page {page}: total {body['total']}, {len(body['tasks'])} tasks")
        if index >= 10:  # the first few warm the worker's caches and connection
            timings.append(elapsed)
    return timings


def annotate_loop(client: Client, project_id: int, samples: int) -> tuple[list[float], list[float]]:
    next_timings, submit_timings = [], []
    for index in range(samples + 10):
        task, next_elapsed = client.json("GET", f"/api/projects/{project_id}/next")
        result = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                   "value": {"choices": [CHOICES[index % 3]]}}]  # fmt: skip
        _, submit_elapsed = client.json(
            "POST", f"/api/tasks/{task['id']}/annotations/", {"result": result, "lead_time": 3.5}, expect=201
        )
        if index >= 10:
            next_timings.append(next_elapsed)
            submit_timings.append(submit_elapsed)
    return next_timings, submit_timings


def export_json(client: Client, server: Server, project_id: int, expected_tasks: int) -> dict:
    pids = server.worker_pids()
    before = {pid: rss_mb(pid) for pid in pids}
    sampler = RssSampler(pids)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=REQUEST_TIMEOUT_S)
    sampler.start()
    started = time.perf_counter()
    size = 0
    head = tail = b""
    try:
        connection.request(
            "GET", f"/api/projects/{project_id}/export?exportType=JSON", headers=client.headers
        )
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"export answered {response.status}: {response.read(500)!r}")
        while chunk := response.read(1024 * 1024):
            if not head:
                head = chunk[:64]
            tail = (tail + chunk)[-64:]
            size += len(chunk)
        seconds = time.perf_counter() - started
    finally:
        sampler.stop()
        connection.close()
    if not head.startswith(b'[{"id":') or not tail.endswith(b"}]"):
        raise RuntimeError(f"the export is not a JSON array of tasks: {head!r} … {tail!r}")
    # The export's worker is the one whose RSS moved; report the others' too, summed, for honesty.
    serving = max(pids, key=lambda pid: max(sample[pid] for _, sample in sampler.samples) - before[pid])
    series = [sample[serving] for _, sample in sampler.samples if sample[serving]]
    quarters = [
        round(series[min(len(series) - 1, int(len(series) * q))], 1) for q in (0.1, 0.25, 0.5, 0.75, 1.0)
    ]
    peak_total = max(sum(sample.values()) for _, sample in sampler.samples)
    return {
        "tasks": expected_tasks,
        "seconds": round(seconds, 3),
        "tasks_per_s": round(expected_tasks / seconds),
        "bytes": size,
        "server_rss_mb": {
            "serving_worker_before": round(before[serving], 1),
            "serving_worker_peak": round(max(series), 1),
            "serving_worker_growth": round(max(series) - before[serving], 1),
            "serving_worker_at_10_25_50_75_100_pct": quarters,
            "all_workers_before": round(sum(before.values()), 1),
            "all_workers_peak": round(peak_total, 1),
            "samples": len(sampler.samples),
        },
    }


@contextmanager
def benchmark_server(args, environment, log_path) -> Iterator[Server]:
    server = Server(args, environment, log_path)
    try:
        yield server
    finally:
        server.stop()


def load_average() -> float:
    """The 1-minute load average: other work on the machine (tests, browsers) shows up here."""
    return round(os.getloadavg()[0], 2)


def run_size(args: argparse.Namespace, total: int) -> dict:
    rng = random.Random(total)
    load_at_start = load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    log_path = data_dir / "gunicorn.log"
    environment = server_environment(args, data_dir)
    database_create(args.database_url)
    try:
        manage(environment, "migrate", "--no-input")
        token = owner_token(environment)
        result: dict = {}
        with benchmark_server(args, environment, log_path) as server:
            client = Client(server.port, token)
            unlabeled = create_project(client, "Unlabeled", SENTIMENT_CONFIG)
            labeled = create_project(
                client, "Labeled", NER_CONFIG if args.labeled_kind == "ner" else SENTIMENT_CONFIG
            )
            result["import_unlabeled"] = import_tasks(client, unlabeled, total, args.batch, unlabeled_batch)
            result["import_labeled"] = import_tasks(
                client,
                labeled,
                total,
                args.batch,
                lambda first, count: labeled_batch(first, count, args.labeled_kind),
            )
            database_analyze(args.database_url)
            list_timings = list_pages(client, unlabeled, total, args.samples, rng)
            list_labeled_timings = list_pages(client, labeled, total, args.samples, rng)
            next_timings, submit_timings = annotate_loop(client, unlabeled, min(args.samples, total - 10))
            client.close()
        with benchmark_server(args, environment, log_path) as server:
            client = Client(server.port, token)
            for _ in range(2 * args.workers):  # load Django and the URLconf in every worker
                client.json("GET", f"/api/projects/{labeled}/")
                client.close()
            time.sleep(0.5)
            export = export_json(client, server, labeled, total)
            client.close()
    finally:
        if not args.keep_db:
            database_drop(args.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)

    return {
        "bench": "core_api",
        "tasks": total,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
            "load_avg_1m_start_end": [load_at_start, load_average()],
        },
        "server": {
            "gunicorn_workers": args.workers,
            "worker_class": "gthread",
            "threads": args.threads,
            "database": "postgresql",
        },
        "import_mode": f"synchronous (TESSERA_SYNC_IMPORT_MAX_BYTES raised), {args.batch} tasks per request",
        "labeled_kind": args.labeled_kind,
        "import_unlabeled_tasks_per_s": result["import_unlabeled"]["tasks_per_s"],
        "import_labeled_tasks_per_s": result["import_labeled"]["tasks_per_s"],
        "list_page_p50_ms": ms(list_timings, 0.5),
        "list_page_p99_ms": ms(list_timings, 0.99),
        "list_page_labeled_p50_ms": ms(list_labeled_timings, 0.5),
        "submit_p50_ms": ms(submit_timings, 0.5),
        "submit_p99_ms": ms(submit_timings, 0.99),
        "next_p50_ms": ms(next_timings, 0.5),
        "next_p99_ms": ms(next_timings, 0.99),
        "export_json_tasks_per_s": export["tasks_per_s"],
        "export_server_peak_rss_mb": export["server_rss_mb"]["serving_worker_peak"],
        "details": {
            "import_unlabeled": result["import_unlabeled"],
            "import_labeled": result["import_labeled"],
            "export": export,
            "samples": {"list_pages": len(list_timings), "annotate": len(submit_timings)},
            "list_page_mean_ms": round(statistics.fmean(list_timings) * 1000, 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tasks", type=int, nargs="+", default=[10_000], help="project sizes (one JSON line each)"
    )
    parser.add_argument("--batch", type=int, default=50_000, help="tasks per import request")
    parser.add_argument("--samples", type=int, default=300, help="timed requests per latency figure")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--labeled-kind", choices=("choice", "ner"), default="choice")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    args = parser.parse_args()
    if any(size < 20 for size in args.tasks):
        parser.error("--tasks must be at least 20")
    _database_name(args.database_url)
    for total in args.tasks:
        print(json.dumps(run_size(args, total)), flush=True)


if __name__ == "__main__":
    main()
