"""Seconds per synchronous labeled import request, by phase, in-process (no HTTP server).

Builds the bodies ``hot_paths_bench.py`` sends (every result different, region ``id``s as Label
Studio exports them: a choice, or two NER spans per task), then for each request of ``--batch``
tasks times what the import view does with it: parsing the body (``parse_items``), checking every
item (``_check_items``), and the write phase, split into the ``COPY`` of tasks, reading back their
ids, the ``COPY`` of annotations, and the commit (where PostgreSQL runs its deferred foreign-key
checks). The split is measured by timing wrappers around those calls, which call through.

It works on a fresh database of its own (``--database-url``, dropped at the end unless
``--keep-db``), or on SQLite with ``--sqlite`` (a file under a temporary ``TESSERA_DATA_DIR``).
``--profile FILE`` writes a cProfile of the parse and import calls (read it with ``pstats``).

Usage (from the repository root)::

    .venv/bin/python bench/import_phases.py --tasks 200000 --kind ner
"""

import argparse
import cProfile
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import api_bench  # noqa: E402 - the database helpers
from hot_paths_bench import labeled_with_ids_batch  # noqa: E402


def _setup(args: argparse.Namespace) -> None:
    os.environ.setdefault("TESSERA_DATA_DIR", tempfile.mkdtemp(prefix="tessera-import-phases-"))
    os.environ["TESSERA_LOG_LEVEL"] = "WARNING"
    os.environ["TESSERA_MAX_TASKS_PER_IMPORT"] = str(args.batch)
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
    else:
        api_bench.database_create(args.database_url)
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class _Clock:
    """Wall seconds, this process's CPU seconds and the database backend's CPU seconds (read from
    ``/proc``: PostgreSQL runs on this machine). CPU seconds hardly move when other work shares the
    machine; wall seconds do."""

    def __init__(self, backend_pid: int | None):
        self.stat = Path(f"/proc/{backend_pid}/stat") if backend_pid else None
        self.ticks = os.sysconf("SC_CLK_TCK")

    def now(self) -> tuple[float, float, float]:
        backend = 0.0
        if self.stat is not None:
            # utime and stime, the 12th and 13th fields after the command name.
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
            backend = (int(fields[11]) + int(fields[12])) / self.ticks
        return time.perf_counter(), time.process_time(), backend


class _Timer:
    """Wraps a callable so that every call adds its seconds to ``phases[name]``: (wall, cpu, db cpu)."""

    def __init__(self, phases: dict[str, list[float]], clock: _Clock):
        self.phases = phases
        self.clock = clock

    def wrap(self, name: str, function):
        phases, clock = self.phases, self.clock

        def timed(*args, **kwargs):
            started = clock.now()
            try:
                return function(*args, **kwargs)
            finally:
                ended = clock.now()
                totals = phases.setdefault(name, [0.0, 0.0, 0.0])
                for index in range(3):
                    totals[index] += ended[index] - started[index]

        return timed


def run(args: argparse.Namespace) -> dict:
    from api_bench import NER_CONFIG, SENTIMENT_CONFIG
    from django.db import connection

    from annotation.importing.parsers import parse_items
    from annotation.services import imports
    from annotation.services.projects import project_create
    from tessera.services import organization_get_or_create, user_upsert

    organization = organization_get_or_create(title="Bench")
    owner, _ = user_upsert(
        email="owner@bench.test", organization=organization, role="owner", password="x" * 12
    )
    project = project_create(
        organization=organization,
        user=owner,
        fields={"title": "Labeled", "label_config": NER_CONFIG if args.kind == "ner" else SENTIMENT_CONFIG},
    )

    connection.ensure_connection()
    backend_pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0]
    clock = _Clock(backend_pid)
    phases: dict[str, list[float]] = {}
    timer = _Timer(phases, clock)
    # The write phase's parts: a batch's bulk_inserts are the tasks', the annotations', the predictions'.
    real_bulk_insert = imports.bulk_insert
    calls = {"n": 0}

    def bulk_insert(table, columns, rows, **options):
        name = ("copy_tasks", "copy_annotations", "copy_predictions")[calls["n"] % 3]
        calls["n"] += 1
        return timer.wrap(name, real_bulk_insert)(table, columns, rows, **options)

    imports.bulk_insert = bulk_insert
    imports._task_ids_by_position = timer.wrap("read_task_ids", imports._task_ids_by_position)
    imports._check_items = timer.wrap("check", imports._check_items)
    connection._commit = timer.wrap("commit", connection._commit)  # type: ignore[attr-defined]

    rng = random.Random(args.tasks)
    profiler = cProfile.Profile() if args.profile else None
    per_batch: list[dict[str, list[float]]] = []
    for first in range(0, args.tasks, args.batch):
        body = labeled_with_ids_batch(first, min(args.batch, args.tasks - first), args.kind, rng)
        gc.collect()
        phases.clear()
        if profiler is not None:
            profiler.enable()
        items = timer.wrap("parse", parse_items)(body, "json", max_tasks=args.batch)
        counts = timer.wrap("import", imports.tasks_import)(project=project, user=owner, items=items)
        if profiler is not None:
            profiler.disable()
        del items
        assert counts.task_count == min(args.batch, args.tasks - first)
        total = [phases["parse"][index] + phases["import"][index] for index in range(3)]
        write = [phases["import"][index] - phases["check"][index] for index in range(3)]
        parts = ("copy_tasks", "read_task_ids", "copy_annotations", "copy_predictions", "commit")
        other = [
            write[index] - sum(phases[name][index] for name in parts if name in phases) for index in range(3)
        ]
        per_batch.append({"total": total, "parse": phases["parse"], "check": phases["check"], "write": write,
                          **{name: phases[name] for name in parts if name in phases}, "write_other": other})  # fmt: skip
    if profiler is not None:
        profiler.dump_stats(args.profile)
    names = list(per_batch[0])

    def median(index: int) -> dict[str, float]:
        return {
            name: round(statistics.median(batch[name][index] for batch in per_batch), 3) for name in names
        }

    return {
        "bench": "import_phases",
        "kind": args.kind,
        "database": connection.vendor,
        "tasks": args.tasks,
        "batch": args.batch,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "tasks_per_s": round(args.tasks / sum(batch["total"][0] for batch in per_batch)),
        # Medians over the batches: wall seconds, then CPU seconds of this process and of the database
        # backend. Wall seconds of a quiet machine come close to the larger of the two CPU sums.
        "median_wall_seconds_per_batch": median(0),
        "median_cpu_seconds_per_batch": median(1),
        "median_db_cpu_seconds_per_batch": median(2),
        "batch_seconds": [round(batch["total"][0], 2) for batch in per_batch],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--kind", choices=("ner", "choice"), default="ner")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/tessera_bench_phases")
    parser.add_argument("--sqlite", action="store_true", help="the default SQLite database instead")
    parser.add_argument("--profile", help="write a cProfile of the timed calls to this file")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.tasks < 1 or args.batch < 1:
        parser.error("--tasks and --batch must be positive")
    if not args.sqlite:
        api_bench._database_name(args.database_url)
    _setup(args)
    try:
        print(json.dumps(run(args)), flush=True)
    finally:
        if not args.sqlite and not args.keep_db:
            from django.db import connections

            connections.close_all()
            api_bench.database_drop(args.database_url)


if __name__ == "__main__":
    main()
