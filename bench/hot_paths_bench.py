"""Hot paths off the happy path (issue 7): a live gunicorn server and a real Celery worker on PostgreSQL.

For each size N given on the command line, on a fresh database:

Phase A, imports made synchronous (as ``api_bench.py`` does), ``--batch`` tasks per request:

* labeled import where every result differs and carries region ``id``s as Label Studio exports
  them: a sentiment choice per task, and two NER spans per task (tasks/s of request time).

Phase B, the server as installed (default ``TESSERA_SYNC_IMPORT_MAX_BYTES``) plus one Celery worker
on the default file-system broker (the demo's):

* background import end to end: one JSON body of N unlabeled tasks, larger than the synchronous
  threshold, from the POST until the job reads ``completed`` (tasks/s of wall time);
* the project has overlap 3; ``--deletes`` tasks spread over it are deleted, then are timed:
  ``GET /api/projects/`` (the SDK's main call), random task pages after those deletions;
* one annotator's idle loop, ``GET …/next`` then ``POST …/annotations/`` then the labeling page's
  progress call ``GET /api/labeling/projects/{id}`` (p50/p95 of each);
* six annotators at once with overlap 3: six threads doing that loop (p50/p95 per call);
* the one-annotator loop again while a second background import of N tasks runs on the worker,
  and while a slow client streams the JSON export of the labeled project (64 KB every 50 ms);
  only requests made while the import or export was in flight count. Target: within 2x idle p50.

It prints one JSON line per size. Every request goes to 127.0.0.1 and has a timeout; the server,
the worker and the database are removed at the end (``--keep-db`` keeps the database).

Usage (from the repository root)::

    .venv/bin/python bench/hot_paths_bench.py --tasks 10000
    .venv/bin/python bench/hot_paths_bench.py --tasks 1000000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench  # noqa: E402 - the sibling script's server, client and database helpers
from api_bench import CHOICES, NER_CONFIG, SENTIMENT_CONFIG, Client, ms, task_text  # noqa: E402

REPO = api_bench.REPO
CELERY = REPO / ".venv" / "bin" / "celery"
ANNOTATORS = 6
OVERLAP = 3


# ---------------------------------------------------------------- workload


def region_id(rng: random.Random) -> str:
    """Label Studio's region ids: ten random characters."""
    return "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") for _ in range(10)
    )


def labeled_with_ids_batch(first: int, count: int, kind: str, rng: random.Random) -> bytes:
    tasks = []
    for i in range(first, first + count):
        text, org, money = task_text(i)
        if kind == "ner":
            result = [
                {"id": region_id(rng), "from_name": "label", "to_name": "text", "type": "labels",
                 "origin": "manual",
                 "value": {"start": start, "end": end, "labels": [label], "text": text[start:end]}}
                for (start, end), label in ((org, "ORG"), (money, "MONEY"))
            ]  # fmt: skip
        else:
            result = [{"id": region_id(rng), "from_name": "sentiment", "to_name": "text", "type": "choices",
                       "origin": "manual", "value": {"choices": [CHOICES[i % 3]]}}]  # fmt: skip
        tasks.append({"data": {"text": text}, "annotations": [{"result": result, "lead_time": 4.2 + i % 7}]})
    return json.dumps(tasks).encode()


# ---------------------------------------------------------------- worker


class Worker:
    """``celery -A tessera worker -Q <queues>`` in its own process group, on the server's environment."""

    def __init__(
        self,
        environment: dict[str, str],
        log_path: Path,
        *,
        queues: str = "default",
        loglevel: str = "WARNING",
    ):
        self.log_path = log_path
        self.log_start = log_path.stat().st_size if log_path.exists() else 0
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(CELERY), "-A", "tessera", "worker", "-Q", queues, "--concurrency", "1",
             "--loglevel", loglevel, "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=REPO, env=environment, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout_s: float = 120.0) -> float:
        """Seconds until the worker logs that it is ready (it must run at loglevel INFO): a user's jobs
        go to a worker that is already running, so a bench that starts one per job waits for it first."""
        started = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(self.log_start)
                if b" ready." in log.read():
                    return time.perf_counter() - started
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}; see {self.log_path}")
            time.sleep(0.1)
        raise RuntimeError(f"the worker was not ready after {timeout_s} s; see {self.log_path}")

    def stop(self) -> None:
        # A worker finishing a job may take longer to stop than a web server.
        api_bench.stop_process_group(self.process, timeout=20)
        self.log.close()


def background_import(client: Client, project_id: int, total: int, *, timeout_s: float) -> dict:
    """POST one body of ``total`` unlabeled tasks, then poll the job until it completes."""
    payload = api_bench.unlabeled_batch(0, total)
    started = time.perf_counter()
    status, body, post_seconds = client.request("POST", f"/api/projects/{project_id}/import", payload)
    if status != 201:
        raise RuntimeError(f"import answered {status}: {body[:500]!r}")
    answer = json.loads(body)
    if "import" not in answer:
        raise RuntimeError("the import ran synchronously; the body must exceed TESSERA_SYNC_IMPORT_MAX_BYTES")
    job_id = answer["import"]
    deadline = time.monotonic() + timeout_s
    while True:
        job, _ = client.json("GET", f"/api/projects/{project_id}/imports/{job_id}/")
        if job["status"] == "completed":
            break
        if job["status"] == "failed" or time.monotonic() > deadline:
            raise RuntimeError(f"background import did not complete: {job}")
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if job["task_count"] != total:
        raise RuntimeError(f"background import wrote {job['task_count']} tasks, expected {total}")
    # Where the end-to-end time went, by the job's own clock: waiting for a worker to take it, then the job.
    created, began, ended = (
        datetime.fromisoformat(job[key]) for key in ("created_at", "started_at", "finished_at")
    )
    return {
        "tasks": total,
        "bytes": len(payload),
        "post_seconds": round(post_seconds, 3),
        "seconds": round(seconds, 3),
        "tasks_per_s": round(total / seconds),
        "queued_seconds": round((began - created).total_seconds(), 3),
        "job_seconds": round((ended - began).total_seconds(), 3),
    }


# ---------------------------------------------------------------- measurements


def p50_p95(values: list[float]) -> dict:
    if not values:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    return {"p50_ms": ms(values, 0.5), "p95_ms": ms(values, 0.95), "n": len(values)}


def timed_gets(client: Client, paths, samples: int) -> list[float]:
    timings = []
    for index, path in enumerate(paths):
        if index >= samples + 5:
            break
        _, elapsed = client.json("GET", path)
        if index >= 5:
            timings.append(elapsed)
    return timings


class AnnotatorLoop:
    """next → submit → progress, as the labeling page does after every answer; timings per call."""

    def __init__(self, client: Client, project_id: int):
        self.client = client
        self.project_id = project_id
        self.timings: dict[str, list[float]] = {"next": [], "submit": [], "progress": []}
        self.count = 0

    def once(self, record: bool = True) -> None:
        task, next_elapsed = self.client.json("GET", f"/api/projects/{self.project_id}/next")
        result = [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                   "value": {"choices": [CHOICES[self.count % 3]]}}]  # fmt: skip
        _, submit_elapsed = self.client.json(
            "POST", f"/api/tasks/{task['id']}/annotations/", {"result": result, "lead_time": 3.5}, expect=201
        )
        _, progress_elapsed = self.client.json("GET", f"/api/labeling/projects/{self.project_id}")
        self.count += 1
        if record:
            self.timings["next"].append(next_elapsed)
            self.timings["submit"].append(submit_elapsed)
            self.timings["progress"].append(progress_elapsed)

    def summary(self) -> dict:
        return {name: p50_p95(values) for name, values in self.timings.items()}


def _annotator_process(port: int, token: str, project_id: int, rounds: int, start_at: float) -> dict:
    loop = AnnotatorLoop(Client(port, token), project_id)
    try:
        for _ in range(3):
            loop.once(record=False)
        # Start together: each process waits for the same moment on the wall clock.
        time.sleep(max(0.0, start_at - time.time()))
        for _ in range(rounds):
            loop.once()
    finally:
        loop.client.close()
    return loop.timings


def concurrent_annotators(
    port: int, tokens: list[str], project_id: int, rounds: int, *, database: str | None = None
) -> dict:
    """One process per annotator: client threads of one process would wait for each other's GIL, and
    that wait would count as the server's latency. The CPU the server's processes spent per round (on a
    shared machine a steadier measure of a change than the latencies), and with ``database`` (its name)
    PostgreSQL's backends of that database: only where nothing else uses it (no worker), since a
    backend's title does not say whose connection it is."""
    context = multiprocessing.get_context("fork")
    cpu_before = _round_cpu(port, database)
    start_at = time.time() + 3
    with context.Pool(len(tokens)) as pool:
        runs = [
            pool.apply_async(_annotator_process, (port, token, project_id, rounds, start_at))
            for token in tokens
        ]
        timings = [run.get(timeout=api_bench.REQUEST_TIMEOUT_S) for run in runs]
    seconds = time.time() - start_at
    cpu_after = _round_cpu(port, database)
    merged: dict[str, list[float]] = {"next": [], "submit": [], "progress": []}
    for one in timings:
        for name, values in one.items():
            merged[name].extend(values)
    return {
        "annotators": len(tokens),
        "client": "one process per annotator",
        "rounds_each": rounds,
        "submits_per_s": round(len(merged["submit"]) / seconds, 1),
        **{name: p50_p95(values) for name, values in merged.items()},
        # Every round counted, the three unrecorded warm-up rounds of each annotator included.
        **{
            f"{side}_cpu_ms_per_round": round(
                1000 * (cpu_after[side] - cpu_before[side]) / (len(tokens) * (rounds + 3)), 2
            )
            for side in cpu_before
        },
    }


def _round_cpu(port: int, database: str | None) -> dict[str, float]:
    # gunicorn's command line names its port; a backend's title names its database.
    cpu = {"server": api_bench.cpu_seconds(f"127.0.0.1:{port}")}
    if database:
        cpu["database"] = api_bench.cpu_seconds(f" {database} ")
    return cpu


def loop_while(loop: AnnotatorLoop, busy: threading.Event, done: threading.Event, samples: int) -> None:
    """Run the annotator loop; keep only rounds that started and ended while ``busy`` was set."""
    while not done.is_set() and len(loop.timings["next"]) < samples:
        if not busy.is_set():
            time.sleep(0.01)
            continue
        before = {name: len(values) for name, values in loop.timings.items()}
        loop.once()
        if not busy.is_set() or done.is_set():
            for name, count in before.items():
                del loop.timings[name][count:]


def slow_export(port: int, token: str, project_id: int, busy: threading.Event, stop: threading.Event) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=api_bench.REQUEST_TIMEOUT_S)
    read = 0
    try:
        connection.request(
            "GET", f"/api/projects/{project_id}/export?exportType=JSON",
            headers={"Authorization": f"Token {token}"},
        )  # fmt: skip
        response = connection.getresponse()
        if response.status != 200:
            raise RuntimeError(f"export answered {response.status}")
        busy.set()
        while not stop.is_set():
            chunk = response.read(64 * 1024)
            if not chunk:
                break
            read += len(chunk)
            time.sleep(0.05)
    finally:
        busy.clear()
        connection.close()
    return {"bytes_read": read}


# ---------------------------------------------------------------- run


def make_users(environment: dict[str, str]) -> dict:
    script = (
        "import json\n"
        "from tessera.services import api_token_create, organization_get_or_create, user_upsert\n"
        "org = organization_get_or_create(title='Bench')\n"
        "tokens = {}\n"
        "owner, _ = user_upsert(email='owner@bench.test', organization=org, role='owner', password='bench pass 42')\n"
        "tokens['owner'] = api_token_create(user=owner)\n"
        f"for i in range({ANNOTATORS}):\n"
        "    user, _ = user_upsert(email=f'annotator{i}@bench.test', organization=org, role='annotator',"
        " password='bench pass 42')\n"
        "    tokens[f'annotator{i}'] = api_token_create(user=user)\n"
        "print(json.dumps(tokens))\n"
    )
    return json.loads(api_bench.manage(environment, "shell", "-c", script).strip().splitlines()[-1])


def run_size(args: argparse.Namespace, total: int) -> dict:
    rng = random.Random(total)
    load_at_start = api_bench.load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-hot-bench-"))
    log_path = data_dir / "gunicorn.log"
    sync_environment = api_bench.server_environment(args, data_dir)
    # Phase B: the server as installed, except the limits a million-task body needs.
    environment = dict(sync_environment)
    # The default threshold (8 MiB) unless the body of a small run would fall under it.
    environment.update(
        TESSERA_SYNC_IMPORT_MAX_BYTES=str(min(8 * 1024 * 1024, total * 50)),
        TESSERA_MAX_TASKS_PER_IMPORT=str(max(total, 1)),
        TESSERA_MAX_UPLOAD_BYTES=str(4 * 1024**3),
    )
    api_bench.database_create(args.database_url)
    result: dict = {}
    worker = None
    try:
        api_bench.manage(environment, "migrate", "--no-input")
        tokens = make_users(environment)
        annotator_tokens = [tokens[f"annotator{i}"] for i in range(ANNOTATORS)]
        with api_bench.benchmark_server(args, sync_environment, log_path) as server:
            client = Client(server.port, tokens["owner"])
            choices_project = api_bench.create_project(client, "Labeled choices", SENTIMENT_CONFIG)
            ner_project = api_bench.create_project(client, "Labeled NER", NER_CONFIG)
            result["import_labeled_choices_with_ids"] = api_bench.import_tasks(
                client, choices_project, total, args.batch,
                lambda first, count: labeled_with_ids_batch(first, count, "choice", rng),
            )  # fmt: skip
            result["import_labeled_ner_with_ids"] = api_bench.import_tasks(
                client, ner_project, total, args.batch,
                lambda first, count: labeled_with_ids_batch(first, count, "ner", rng),
            )  # fmt: skip
            client.close()
        if args.labeled_imports_only:
            return {
                "bench": "hot_paths",
                "tasks": total,
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "machine": {"cpus": os.cpu_count(), "load_avg_1m_start_end": [load_at_start, api_bench.load_average()]},
                "import_labeled_choices_with_ids_tasks_per_s": result["import_labeled_choices_with_ids"]["tasks_per_s"],
                "import_labeled_ner_with_ids_tasks_per_s": result["import_labeled_ner_with_ids"]["tasks_per_s"],
                "details": result,
            }  # fmt: skip
        worker = Worker(environment, data_dir / "worker.log")
        with api_bench.benchmark_server(args, environment, log_path) as server:
            client = Client(server.port, tokens["owner"])
            project = api_bench.create_project(client, "Annotated with overlap 3", SENTIMENT_CONFIG)
            client.json("PATCH", f"/api/projects/{project}/", {"maximum_annotations": OVERLAP})
            result["background_import"] = background_import(
                client, project, total, timeout_s=args.job_timeout
            )
            api_bench.database_analyze(args.database_url)

            # Deletions spread over the project: every later page's position moves.
            pages = -(-total // 100)
            for page in sorted(rng.sample(range(1, pages + 1), min(args.deletes, pages))):
                body, _ = client.json("GET", f"/api/tasks/?project={project}&page={page}&page_size=100")
                client.json(
                    "DELETE", f"/api/tasks/{body['tasks'][50 % len(body['tasks'])]['id']}/", expect=204
                )
            remaining = total - min(args.deletes, pages)
            page_count = -(-remaining // 100)
            # The first page after the last delete reads where the gaps lie (one pass over the index).
            _, first_page = client.json(
                "GET", f"/api/tasks/?project={project}&page={page_count}&page_size=100"
            )
            result["first_task_page_after_last_delete_ms"] = round(first_page * 1000, 2)
            result["project_list"] = p50_p95(
                timed_gets(client, ("/api/projects/" for _ in iter(int, 1)), args.samples)
            )
            result["task_page_after_deletes"] = p50_p95(
                timed_gets(
                    client,
                    (f"/api/tasks/?project={project}&page={rng.randint(1, page_count)}&page_size=100"
                     for _ in iter(int, 1)),
                    args.samples,
                )
            )  # fmt: skip

            idle = AnnotatorLoop(Client(server.port, annotator_tokens[0]), project)
            for _ in range(5):
                idle.once(record=False)
            for _ in range(args.samples):
                idle.once()
            result["one_annotator_idle"] = idle.summary()
            # The server's CPU only: the worker is still indexing the imports into this database.
            result["six_annotators_overlap_3"] = concurrent_annotators(
                server.port, annotator_tokens, project, rounds=max(5, args.samples // ANNOTATORS)
            )

            # During a second background import of N tasks (on the worker) into another project.
            during_import = AnnotatorLoop(Client(server.port, annotator_tokens[0]), project)
            busy, done = threading.Event(), threading.Event()
            loop_thread = threading.Thread(target=loop_while, args=(during_import, busy, done, args.samples))
            loop_thread.start()
            other = api_bench.create_project(client, "Second import", SENTIMENT_CONFIG)
            busy.set()
            try:
                result["background_import_during_loop"] = background_import(
                    client, other, total, timeout_s=args.job_timeout
                )
            finally:
                busy.clear()
                done.set()
                loop_thread.join()
            result["one_annotator_during_import"] = during_import.summary()

            # During a slow export of the labeled project.
            during_export = AnnotatorLoop(Client(server.port, annotator_tokens[0]), project)
            busy, done, stop = threading.Event(), threading.Event(), threading.Event()
            loop_thread = threading.Thread(target=loop_while, args=(during_export, busy, done, args.samples))
            loop_thread.start()
            exporter_result: dict = {}

            def export() -> None:
                exporter_result.update(slow_export(server.port, tokens["owner"], choices_project, busy, stop))

            exporter = threading.Thread(target=export)
            exporter.start()
            loop_thread.join(timeout=args.export_seconds)
            stop.set()
            done.set()
            loop_thread.join()
            exporter.join()
            result["one_annotator_during_slow_export"] = during_export.summary() | exporter_result
            client.close()
    finally:
        if worker is not None:
            worker.stop()
        if not args.keep_db:
            api_bench.database_drop(args.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)

    idle_p50 = {name: result["one_annotator_idle"][name]["p50_ms"] for name in ("next", "submit", "progress")}

    def ratio(key: str) -> dict:
        return {
            name: (
                round(result[key][name]["p50_ms"] / idle_p50[name], 2)
                if result[key][name]["p50_ms"]
                else None
            )
            for name in idle_p50
        }

    return {
        "bench": "hot_paths",
        "tasks": total,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "system": sys.platform,
            "load_avg_1m_start_end": [load_at_start, api_bench.load_average()],
        },
        "server": {
            "gunicorn_workers": args.workers,
            "threads": args.threads,
            "database": "postgresql",
            "celery_worker": "1 process, file-system broker",
            "sync_import_max_bytes": int(environment["TESSERA_SYNC_IMPORT_MAX_BYTES"]),
        },  # fmt: skip
        "import_labeled_choices_with_ids_tasks_per_s": result["import_labeled_choices_with_ids"][
            "tasks_per_s"
        ],
        "import_labeled_ner_with_ids_tasks_per_s": result["import_labeled_ner_with_ids"]["tasks_per_s"],
        "background_import_tasks_per_s": result["background_import"]["tasks_per_s"],
        "project_list_p50_ms": result["project_list"]["p50_ms"],
        "task_page_after_deletes_p50_ms": result["task_page_after_deletes"]["p50_ms"],
        "first_task_page_after_last_delete_ms": result["first_task_page_after_last_delete_ms"],
        "idle_p50_ms": idle_p50,
        "six_annotators_p50_ms": {
            name: result["six_annotators_overlap_3"][name]["p50_ms"]
            for name in ("next", "submit", "progress")
        },
        "six_annotators_server_cpu_ms_per_round": result["six_annotators_overlap_3"][
            "server_cpu_ms_per_round"
        ],
        "during_import_vs_idle_p50": ratio("one_annotator_during_import"),
        "during_slow_export_vs_idle_p50": ratio("one_annotator_during_slow_export"),
        "details": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--batch", type=int, default=50_000, help="tasks per synchronous labeled import request"
    )
    parser.add_argument("--samples", type=int, default=200, help="timed requests per latency figure")
    parser.add_argument("--deletes", type=int, default=20, help="tasks deleted before timing pages")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--export-seconds", type=float, default=30.0, help="how long the slow export runs at most"
    )
    parser.add_argument(
        "--job-timeout", type=float, default=900.0, help="seconds a background import may take"
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tessera_bench_hot")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--labeled-imports-only", action="store_true", help="phase A alone: the two labeled imports"
    )
    args = parser.parse_args()
    if any(size < 1000 for size in args.tasks):
        parser.error("--tasks must be at least 1000")
    api_bench._database_name(args.database_url)
    for total in args.tasks:
        print(json.dumps(run_size(args, total)), flush=True)


if __name__ == "__main__":
    main()
