"""Dataset versions at scale (issue 11): a fully labeled project, versions built by a Celery worker.

For each size it makes a fresh PostgreSQL database, imports N labeled NER tasks (two spans each, region
ids as Label Studio exports them, every result different; one task in four Japanese, one in ten with an
e-mail address or phone number, 1 % exact and 1 % near duplicates), then, with the server and one worker
as installed (the default file-system broker, default settings), builds one version per recipe through
``POST /api/projects/{id}/datasets/`` and polls ``GET /api/datasets/{id}/`` until it completes, each on
a fresh worker, started and ready before the POST as a user's worker is (the broker's pick-up is in the
figure, the worker's start-up is not; both are reported). A thread samples the RSS of
every process of the worker's group from ``/proc`` meanwhile.

Recipes: ``jsonl``; ``parquet``; ``jsonl`` with exact dedup; ``jsonl`` with MinHash dedup; ``jsonl``
with redaction of every built-in kind. A curation step's own rate is the tasks over the extra seconds
its build took beyond the plain ``jsonl`` build (``step_tasks_per_s``); the build's end-to-end rate is
given too.

    .venv/bin/python bench/dataset_build.py --tasks 10000             # a minute or two
    .venv/bin/python bench/dataset_build.py --tasks 1000000           # about half an hour
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench  # noqa: E402 - the sibling script's server, client and database helpers
from api_bench import NER_CONFIG, Client, task_text  # noqa: E402
from hot_paths_bench import Worker, region_id  # noqa: E402

JAPANESE = [
    ("株式会社トヨタ", "配当金は1株当たり{amount}円に増額された。"),
    ("ソニーグループ", "今期の営業利益は{amount}億円の見通しと発表した。"),
    ("三菱UFJ", "決算で純利益{amount}億円を計上したと報じられた。"),
]

RECIPES: dict[str, dict] = {
    "jsonl": {"formats": ["jsonl"]},
    "parquet": {"formats": ["parquet"]},
    "jsonl_dedup_exact": {"formats": ["jsonl"], "dedup": {"exact": True}},
    "jsonl_dedup_near": {"formats": ["jsonl"], "dedup": {"exact": False, "near_threshold": 0.9}},
    "jsonl_redact": {
        "formats": ["jsonl"],
        "redact": ["email", "phone", "card", "account", "ip", "jp_address", "my_number"],
    },
}


def document(index: int) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """A task's text and its two spans (company, amount); duplicates repeat an earlier task's text."""
    if index >= 100 and index % 100 == 7:  # an exact duplicate of an earlier task
        return document(index - 50)
    if index % 4 == 3:
        company, template = JAPANESE[index % len(JAPANESE)]
        amount = str(index % 997 + 1)
        sentence = template.format(amount=amount)
        text = f"{company}は、{sentence}（第{index}報）"
        start = len(company) + len("は、") + template.index("{amount}")
        org, money = (0, len(company)), (start, start + len(amount))
    else:
        text, org, money = task_text(index)
    if index % 10 == 1:
        text += f" Contact ir{index}@example.com or +1 415 555 {index % 10000:04d}."
    if index >= 100 and index % 100 == 13:  # a near duplicate: an earlier text with one word more
        base, org, money = document(index - 50)
        text = base + " (updated)"
    return text, org, money


def labeled_batch(first: int, count: int, rng: random.Random) -> bytes:
    tasks = []
    for i in range(first, first + count):
        text, org, money = document(i)
        result = [
            {"id": region_id(rng), "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
             "value": {"start": start, "end": end, "labels": [label], "text": text[start:end]}}
            for (start, end), label in ((org, "ORG"), (money, "MONEY"))
        ]  # fmt: skip
        tasks.append({"data": {"text": text, "doc": f"doc-{i // 5}"}, "annotations": [{"result": result}]})
    return json.dumps(tasks, ensure_ascii=False).encode()


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def pss_mb(pid: int) -> float:
    """The process's proportional set size: each shared page counted as its share among the sharers."""
    return api_bench.proc_field_mb(f"/proc/{pid}/smaps_rollup", "Pss:")


class GroupRss(threading.Thread):
    """Peak RSS of every process in a process group (the worker and the child that runs the job), and
    the CPU seconds of the group's other processes (the pool child that runs the job: a child's count
    starts at its fork, so the worker's start-up is not in it). On a shared machine the wall clock
    counts other processes' turns; the job's CPU seconds say what the build costs on a core of its own."""

    def __init__(self, group: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.group = group
        self.interval = interval
        self.peak_process = 0.0
        self.peak_total = 0.0
        self.peak_pss = 0.0
        self.child_cpu: dict[int, float] = {}
        self.finished = threading.Event()

    def pids(self) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.group:  # pgrp
                    found.append(int(entry.name))
                    if int(entry.name) != self.group:  # utime + stime, fields 14 and 15 of stat
                        self.child_cpu[int(entry.name)] = (
                            int(fields[11]) + int(fields[12])
                        ) / TICKS_PER_SECOND
        return found

    def run(self) -> None:
        while not self.finished.is_set():
            pids = self.pids()
            sizes = [api_bench.rss_mb(pid) for pid in pids]
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_total = max(self.peak_total, sum(sizes))
                # A build's parts are forked processes that share most of their pages with the worker:
                # their RSS counts those pages once each, their PSS shares them out.
                self.peak_pss = max(self.peak_pss, sum(pss_mb(pid) for pid in pids))
            time.sleep(self.interval)

    def stop(self) -> dict:
        self.finished.set()
        self.join()
        return {
            "peak_process_mb": round(self.peak_process, 1),
            "peak_group_mb": round(self.peak_total, 1),
            "peak_group_pss_mb": round(self.peak_pss, 1),
            "job_cpu_s": round(sum(self.child_cpu.values()), 2),
        }


def build(client: Client, project_id: int, name: str, recipe: dict, worker: Worker, timeout_s: float) -> dict:
    sampler = GroupRss(worker.process.pid)
    sampler.start()
    started = time.perf_counter()
    version, _ = client.json(
        "POST", f"/api/projects/{project_id}/datasets/", {"name": name, **recipe}, expect=(201, 202)
    )
    deadline = time.monotonic() + timeout_s
    while True:
        version, _ = client.json("GET", f"/api/datasets/{version['id']}/")
        if version["status"] == "completed":
            break
        if version["status"] == "failed" or time.monotonic() > deadline:
            sampler.stop()
            raise RuntimeError(f"build {name} did not complete: {json.dumps(version)[:2000]}")
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    rss = sampler.stop()
    # Where the time went, by the version's own clock: waiting for the worker to take it, then the build.
    created, began, ended = (
        datetime.fromisoformat(version[key]) for key in ("created_at", "started_at", "finished_at")
    )
    return {
        "seconds": round(seconds, 2),
        "queued_seconds": round((began - created).total_seconds(), 2),
        "job_seconds": round((ended - began).total_seconds(), 2),
        "files": [{key: f[key] for key in ("format", "split", "bytes")} for f in version["files"]],
        "steps": version.get("steps"),
        "worker_rss": rss,
    }


def run_size(args: argparse.Namespace, total: int) -> dict:
    rng = random.Random(total)
    load_at_start = api_bench.load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-dataset-bench-"))
    log_path = data_dir / "gunicorn.log"
    sync_environment = api_bench.server_environment(args, data_dir)
    # The builds run with the server as installed: the default broker and every default setting.
    environment = {
        key: value for key, value in sync_environment.items()
        if key not in ("TESSERA_SYNC_IMPORT_MAX_BYTES", "TESSERA_MAX_UPLOAD_BYTES", "TESSERA_MAX_TASKS_PER_IMPORT")
    }  # fmt: skip
    api_bench.database_create(args.database_url)
    result: dict = {"builds": {}}
    worker = None
    try:
        api_bench.manage(environment, "migrate", "--no-input")
        token = api_bench.owner_token(environment)
        with api_bench.benchmark_server(args, sync_environment, log_path) as server:
            client = Client(server.port, token)
            project = api_bench.create_project(client, "Labeled NER", NER_CONFIG)
            result["import"] = api_bench.import_tasks(
                client, project, total, args.batch, lambda first, count: labeled_batch(first, count, rng)
            )
            client.close()
        api_bench.database_analyze(args.database_url)
        with api_bench.benchmark_server(args, environment, log_path) as server:
            client = Client(server.port, token)
            for name in args.recipes:
                # A fresh worker per build, so that one build's peak RSS is not another's memory kept.
                worker = Worker(environment, data_dir / "worker.log", loglevel="INFO")
                # Started and ready before the POST, as a user's worker is: its start-up is not the build's.
                worker_ready_seconds = worker.wait_ready()
                result["builds"][name] = build(client, project, name, RECIPES[name], worker, args.job_timeout)
                result["builds"][name]["worker_ready_seconds"] = round(worker_ready_seconds, 2)
                worker.stop()
                worker = None
            client.close()
    finally:
        if worker is not None:
            worker.stop()
        if not args.keep_db:
            api_bench.database_drop(args.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)
    builds = result["builds"]
    summary: dict = {}
    for name, figures in builds.items():
        summary[f"{name}_tasks_per_s"] = round(total / figures["seconds"])
        summary[f"{name}_queued_job_s"] = [figures["queued_seconds"], figures["job_seconds"]]
        summary[f"{name}_worker_peak_rss_mb"] = figures["worker_rss"]["peak_process_mb"]
        summary[f"{name}_worker_group_peak_pss_mb"] = figures["worker_rss"]["peak_group_pss_mb"]
        job_cpu = figures["worker_rss"]["job_cpu_s"]
        summary[f"{name}_job_cpu_s"] = job_cpu
        summary[f"{name}_tasks_per_cpu_s"] = round(total / job_cpu) if job_cpu else None
        if name.startswith("jsonl_") and "jsonl" in builds:
            extra = figures["seconds"] - builds["jsonl"]["seconds"]
            summary[f"{name}_step_tasks_per_s"] = round(total / extra) if extra > 0 else None
    return {
        "bench": "dataset_build",
        "tasks": total,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m_start_end": [load_at_start, api_bench.load_average()],
        },
        **summary,
        "details": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, nargs="+", default=[10_000])
    parser.add_argument(
        "--batch", type=int, default=50_000, help="tasks per synchronous labeled import request"
    )
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--job-timeout", type=float, default=3600.0, help="seconds a build may take")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tessera_bench_datasets")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    api_bench._database_name(args.database_url)
    for total in args.tasks:
        print(json.dumps(run_size(args, total)), flush=True)


if __name__ == "__main__":
    main()
