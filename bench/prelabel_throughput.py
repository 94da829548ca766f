"""Pre-labeling throughput (issue 10): Tessera's pre-label job against the raw model, in the same run.

N short financial-like sentences, every one different, are pre-labeled twice:

(a) raw: in this process, the embedding classifier's encoder (training/encoders.py, all-MiniLM-L6-v2
    from the installed package) encodes the texts in a tight batched loop and the fitted classifier
    predicts them; no database, no queue. Two figures: ``raw_sorted`` (one ``encode`` call over
    every text, which orders all of them by length, so batches pad the least: the best the model
    does) and ``raw_in_order`` (``encode`` per chunk of the job's batch size, as the job calls it).
    The classifier is fitted on the same labeled examples the job learns from.
(b) Tessera: a fresh PostgreSQL database, gunicorn and one Celery worker on the ``prelabel`` queue
    (``celery -A tessera worker -Q prelabel``, one prefork child, the file-system broker). The N
    texts and ``--examples`` labeled ones are imported through the API; an ``embedding_classifier``
    pre-labeler is created (``POST /api/projects/{id}/prelabelers/``); a first job over a few tasks
    fits the model and loads the encoder in the worker; then ``POST /api/prelabelers/{id}/jobs/``
    ``{"tasks": "unlabeled"}`` runs over every task and ``GET /api/prelabel-jobs/{id}/`` is polled until
    ``completed``. Tasks/s counts from the job's ``started_at`` to its ``finished_at``: reading tasks,
    encoding, predicting, writing predictions and uncertainties, and the job's bookkeeping.

It prints one JSON line: both figures and ``ratio`` = Tessera / raw_sorted (the target is 0.9 or more).
The encoder runs on CUDA where torch sees a GPU, in both parts alike (``device`` says which).

Usage (from the repository root)::

    .venv/bin/python bench/prelabel_throughput.py --tasks 100000
    .venv/bin/python bench/prelabel_throughput.py --tasks 2000 --raw-only    # part (a) alone, no database
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import api_bench  # noqa: E402 - the sibling script's server, client and database helpers
from api_bench import SENTIMENT_CONFIG, Client  # noqa: E402
from hot_paths_bench import Worker  # noqa: E402 - the benchmarks' Celery worker

REPO = api_bench.REPO
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tessera_bench_prelabel"
WARM_UP_TASKS = 16

# ---------------------------------------------------------------- workload

COMPANIES = [
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
    "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Aperture", "Monarch", "Nakatomi", "Pied Piper",
    "Dunder Mifflin", "Prestige Worldwide",
]  # fmt: skip
METRICS = [
    "revenue", "net profit", "operating margin", "free cash flow", "same-store sales", "order intake",
    "earnings per share", "loan growth", "subscriber numbers", "export volumes",
]  # fmt: skip
# (phrase, sentiment): the sentence's direction decides its label.
MOVES = [
    ("rose", "Positive"), ("jumped", "Positive"), ("climbed", "Positive"), ("beat forecasts with",
    "Positive"), ("improved to", "Positive"), ("fell", "Negative"), ("slumped", "Negative"),
    ("dropped", "Negative"), ("missed forecasts with", "Negative"), ("shrank to", "Negative"),
    ("will be reported with", "Neutral"), ("was restated as", "Neutral"), ("is published as",
    "Neutral"), ("was audited at", "Neutral"), ("is measured as", "Neutral"),
]  # fmt: skip
PERIODS = [
    "the first quarter",
    "the second quarter",
    "the third quarter",
    "the fourth quarter",
    "the half year",
]
YEARS = [str(year) for year in range(2011, 2031)]


def sentence(index: int) -> tuple[str, str]:
    """The index-th sentence and its label: a mixed-radix reading of the index, so that no two of the
    first 20 x 10 x 15 x 1000 x 5 x 20 (300 million) repeat."""
    index, company = divmod(index, len(COMPANIES))
    index, metric = divmod(index, len(METRICS))
    index, move = divmod(index, len(MOVES))
    index, amount = divmod(index, 1000)
    index, period = divmod(index, len(PERIODS))
    index, year = divmod(index, len(YEARS))
    phrase, label = MOVES[move]
    text = (
        f"{COMPANIES[company]}'s {METRICS[metric]} {phrase} {amount // 10}.{amount % 10} percent in "
        f"{PERIODS[period]} of {YEARS[year]}."
    )
    return text, label


def workload(total: int, examples: int) -> tuple[list[str], list[tuple[str, str]]]:
    """``total`` texts to pre-label and ``examples`` labeled ones, all different, in a shuffled order."""
    order = list(range(total + examples))
    random.Random(10).shuffle(order)
    texts = [sentence(index)[0] for index in order[:total]]
    labeled = [sentence(index) for index in order[total:]]
    return texts, labeled


# ---------------------------------------------------------------- (a) raw


def raw_throughput(texts: list[str], labeled: list[tuple[str, str]]) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    django.setup()
    import numpy as np
    import torch

    from training.encoders import encode, encoder_device
    from training.prelabelers.embedding_classifier import EmbeddingClassifier, fit_model

    # The backend's own batch sizes: tasks per predict call of the job, texts per forward pass.
    job_batch, encode_batch = EmbeddingClassifier.batch_size, EmbeddingClassifier.encode_batch_size

    classes = sorted({label for _text, label in labeled})
    encode(["warm up the model"] * encode_batch)  # the load and the first pass's allocations, untimed
    examples = encode([text for text, _label in labeled])
    targets = np.array([classes.index(label) for _text, label in labeled])
    model = fit_model(
        examples, targets, classes=classes, multiple=False, classifier="logistic_regression", k=15, c=10.0
    )

    started = time.perf_counter()
    probabilities = model.probabilities(encode(texts, batch_size=encode_batch))
    sorted_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for first in range(0, len(texts), job_batch):
        model.probabilities(encode(texts[first : first + job_batch], batch_size=encode_batch))
    in_order_seconds = time.perf_counter() - started

    predicted = [classes[index] for index in probabilities.argmax(axis=1)]
    return {
        "device": encoder_device(),
        "torch_threads": torch.get_num_threads(),
        "job_batch": job_batch,
        "encode_batch": encode_batch,
        "raw_sorted_texts_per_s": round(len(texts) / sorted_seconds, 1),
        "raw_sorted_seconds": round(sorted_seconds, 2),
        "raw_in_order_texts_per_s": round(len(texts) / in_order_seconds, 1),
        "raw_in_order_seconds": round(in_order_seconds, 2),
        "predicted_per_class": {label: predicted.count(label) for label in classes},
    }


# ---------------------------------------------------------------- (b) Tessera


def import_batches(client: Client, project_id: int, items: list[dict], batch: int) -> float:
    seconds = 0.0
    for first in range(0, len(items), batch):
        payload = json.dumps(items[first : first + batch]).encode()
        status, body, elapsed = client.request("POST", f"/api/projects/{project_id}/import", payload)
        if status != 201 or "import" in json.loads(body):
            raise RuntimeError(f"import answered {status} (expected a synchronous 201): {body[:500]!r}")
        seconds += elapsed
    return seconds


def run_job(client: Client, prelabeler_id: int, scope: object, *, timeout_s: float) -> dict:
    job, _ = client.json("POST", f"/api/prelabelers/{prelabeler_id}/jobs/", {"tasks": scope}, expect=201)
    deadline = time.monotonic() + timeout_s
    while job["status"] not in ("completed", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the job did not finish within {timeout_s} s: {job}")
        time.sleep(0.5)
        job, _ = client.json("GET", f"/api/prelabel-jobs/{job['id']}/")
    if job["status"] != "completed":
        raise RuntimeError(f"the job ended {job['status']}: {job}")
    return job


def job_seconds(job: dict) -> float:
    started = datetime.fromisoformat(job["started_at"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(job["finished_at"].replace("Z", "+00:00"))
    return (finished - started).total_seconds()


def tessera_throughput(args: argparse.Namespace, texts: list[str], labeled: list[tuple[str, str]]) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-prelabel-"))
    environment = api_bench.server_environment(args, data_dir)
    environment["TESSERA_MAX_TASKS_PER_IMPORT"] = str(max(args.batch, len(labeled)))
    api_bench.database_create(args.database_url)
    worker = None
    try:
        api_bench.manage(environment, "migrate", "--no-input")
        token = api_bench.owner_token(environment)
        worker = Worker(environment, data_dir / "worker.log", queues="prelabel")
        with api_bench.benchmark_server(args, environment, data_dir / "gunicorn.log") as server:
            client = Client(server.port, token)
            project_id = api_bench.create_project(client, "Pre-label bench", SENTIMENT_CONFIG)
            examples = [
                {
                    "data": {"text": text},
                    "annotations": [
                        {
                            "result": [
                                {
                                    "from_name": "sentiment",
                                    "to_name": "text",
                                    "type": "choices",
                                    "value": {"choices": [label]},
                                }
                            ]
                        }  # fmt: skip
                    ],
                }
                for text, label in labeled
            ]
            import_batches(client, project_id, examples, args.batch)
            import_seconds = import_batches(
                client, project_id, [{"text": text} for text in texts], args.batch
            )
            api_bench.database_analyze(args.database_url)

            prelabeler, _ = client.json(
                "POST",
                f"/api/projects/{project_id}/prelabelers/",
                {"backend": "embedding_classifier"},
                expect=201,
            )
            # A first, small job fits the model and loads the encoder in the worker; the timed job then
            # skips these tasks (they have this model version's prediction already).
            page, _ = client.json("GET", f"/api/tasks/?project={project_id}&page=1&page_size={WARM_UP_TASKS}")
            warm_up_ids = [task["id"] for task in (page["tasks"] if isinstance(page, dict) else page)]
            warm_up = run_job(client, prelabeler["id"], warm_up_ids, timeout_s=args.timeout_s)
            job = run_job(client, prelabeler["id"], "unlabeled", timeout_s=args.timeout_s)
            client.close()
    finally:
        if worker is not None:
            worker.stop()
        if not args.keep_db:
            api_bench.database_drop(args.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)

    seconds = job_seconds(job)
    written = job["predictions_written"]
    if written + job["skipped"] + job["dropped"] < len(texts):
        raise RuntimeError(f"the job answered fewer tasks than there are: {job}")
    return {
        "tessera_tasks_per_s": round(written / seconds, 1),
        "tessera_job_seconds": round(seconds, 2),
        "job": {
            key: job[key]
            for key in (
                "tasks_total",
                "tasks_done",
                "predictions_written",
                "skipped",
                "dropped",
                "errors",
                "model_version",
            )
        },  # fmt: skip
        "warm_up_job_seconds": round(job_seconds(warm_up), 2),
        "import_unlabeled_seconds": round(import_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="texts to pre-label")
    parser.add_argument(
        "--examples", type=int, default=300, help="labeled examples the classifier learns from"
    )
    parser.add_argument(
        "--raw-only", action="store_true", help="part (a) alone: no database, server or worker"
    )
    parser.add_argument("--batch", type=int, default=50_000, help="tasks per import request")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--timeout-s", type=float, default=7200, help="longest wait for a job")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    args = parser.parse_args()
    if args.tasks < WARM_UP_TASKS or args.examples < 6:
        parser.error(f"--tasks must be at least {WARM_UP_TASKS} and --examples at least 6")

    load_at_start = api_bench.load_average()
    texts, labeled = workload(args.tasks, args.examples)
    assert len(set(texts)) == len(texts)
    result: dict = {
        "bench": "prelabel_throughput",
        "tasks": args.tasks,
        "examples": args.examples,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mean_text_chars": round(sum(map(len, texts)) / len(texts), 1),
    }
    # Tessera first: the worker owns the machine's cores while it runs, and this process has not yet
    # loaded torch. The raw loop runs after the worker has stopped.
    if not args.raw_only:
        api_bench._database_name(args.database_url)
        result.update(tessera_throughput(args, texts, labeled))
    result.update(raw_throughput(texts, labeled))
    if not args.raw_only:
        result["ratio"] = round(result["tessera_tasks_per_s"] / result["raw_sorted_texts_per_s"], 3)
        result["ratio_to_in_order"] = round(
            result["tessera_tasks_per_s"] / result["raw_in_order_texts_per_s"], 3
        )
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "load_avg_1m_start_end": [load_at_start, api_bench.load_average()],
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
