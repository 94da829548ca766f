"""Agreement and consensus at scale (issue 9): a full recompute, and the incremental work after one
new annotation, in process on PostgreSQL.

On a fresh database ``tessera_bench_agreement``: one project (sentiment choices + NER spans, overlap
3), six annotators, N tasks of English or Japanese text. Every task but ``--open`` of them gets three
annotations from three of the six annotators; the open ones get two. Every result differs: a choice
(the task's "truth" 70% of the time) and one to three spans with region ids, offsets jittered and
labels swapped now and then. Rows are written with COPY (not through the API: this measures the
quality code, not the import). Then ``VACUUM ANALYZE`` and:

* ``recompute_s``: ``project_quality_recompute(with_activity=True)``, what ``manage.py
  tessera_recompute_quality`` runs (reads every annotation, computes every task's statistics,
  consensus and agreement, writes every TaskQuality row and the project's sums, and rebuilds the
  dashboard's running totals from every answer, beside the worker processes), with the
  Python process's CPU time, the database backend's (read from /proc: the server is local) and the
  load average before and after it (the machine may be shared: CPU times hold up under load, wall
  clock does not);
* ``totals_rebuild_s``: for comparison, the dashboard's running totals rebuilt again alone
  (``activity_fix``, as ``manage.py tessera_check_counters --fix`` does; not in the sum below);
* ``annotator_metrics_s``: each annotator metrics read (``annotation.annotator_metrics``: per
  annotator, per day, the timeline, gold), from those totals;
* ``recompute_and_metrics_s``: the recompute (the rebuild included) and the reads: all agreement and
  annotator metrics from scratch;
* ``incremental_ms``: for ``--samples`` open tasks, a third annotation through ``annotation_create``
  (the submit's write path), timing the whole submit and, inside it, ``task_quality_refresh``
  (p50 / max); then ``GET``-equivalent read of the project's figures (``agreement_read_ms``).
One JSON line is printed; the database is dropped at the end.

Usage (from the repository root)::

    .venv/bin/python bench/agreement_bench.py --tasks 100000
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/><Label value="MONEY"/></Labels>
</View>"""
CHOICES = ["Positive", "Negative", "Neutral"]
LABELS = ["ORG", "PER", "MONEY"]
TEXTS = [
    "Acme Bank raised its dividend after quarterly profit beat guidance by 12 million dollars.",
    "東京電機は配当金を引き上げたと発表し、山田太郎社長が記者会見を開いた。",
    "Regulators fined Globex 40 million euros; chief executive Jane Doe resigned on Monday.",
]


def _admin_url(url: str) -> tuple[str, str]:
    base, name = url.rsplit("/", 1)
    return base + "/postgres", name


def _admin_run(admin_url: str, *statements: str) -> None:
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def _setup_database(url: str) -> None:
    admin, name = _admin_url(url)
    _admin_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')


def _drop_database(url: str) -> None:
    admin, name = _admin_url(url)
    _admin_run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _process_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a local process has used: the database server's backend, whose work
    does not show in this process's CPU time. None where /proc cannot tell (not Linux, another host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime are the 14th and 15th fields of the line, the 12th and 13th after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _result(rng: random.Random, text: str, truth: str, truth_spans: list) -> list[dict]:
    choice = truth if rng.random() < 0.7 else rng.choice(CHOICES)
    regions = [{"id": f"c{rng.getrandbits(40):x}", "from_name": "sentiment", "to_name": "text", "type": "choices",
                "value": {"choices": [choice]}}]  # fmt: skip
    for start, end, label in truth_spans:
        if rng.random() < 0.15:
            continue
        if rng.random() < 0.15:
            end = max(start + 1, min(len(text), end + rng.choice((-1, 1))))
        if rng.random() < 0.1:
            label = rng.choice(LABELS)
        regions.append({"id": f"r{rng.getrandbits(40):x}", "from_name": "label", "to_name": "text",
                        "type": "labels", "value": {"start": start, "end": end, "text": text[start:end],
                                                    "labels": [label]}})  # fmt: skip
    return regions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=200, help="Tasks left at two annotations.")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the full recompute (to stderr).")
    parser.add_argument("--keep", action="store_true", help="Keep the database (to look at plans).")
    parser.add_argument(
        "--processes", type=int, nargs="+",
        help="Recompute once per value with TESSERA_QUALITY_RECOMPUTE_PROCESSES set to it, in order "
        "(default: once, with the setting as configured); the figures are the last run's.",
    )  # fmt: skip
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/tessera_bench_agreement"
    )
    args = parser.parse_args()
    if "127.0.0.1" not in args.database_url and "localhost" not in args.database_url:
        raise SystemExit("Only a local database is accepted.")
    _setup_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from annotation.api.agreement import _overview
    from annotation.bulk import bulk_insert
    from annotation.models import Annotation, Task
    from annotation.services import annotations as annotation_services
    from annotation.services import quality
    from annotation.services.projects import project_create
    from tessera.models import Role
    from tessera.services import organization_get_or_create, user_upsert

    try:
        call_command("migrate", verbosity=0)
        org = organization_get_or_create(title="Bench")
        owner, _ = user_upsert(email="owner@bench.test", organization=org, role=Role.OWNER)
        annotators = [user_upsert(email=f"a{i}@bench.test", organization=org, role=Role.ANNOTATOR)[0]
                      for i in range(6)]  # fmt: skip
        project = project_create(organization=org, user=owner,
                                 fields={"title": "Agreement", "label_config": CONFIG, "maximum_annotations": 3})  # fmt: skip
        rng = random.Random(9)
        now = datetime.now(UTC)
        started = time.perf_counter()
        truths = []
        for index in range(args.tasks):
            text = TEXTS[index % len(TEXTS)]
            spans = [(0, 9, "ORG")] if index % 3 != 1 else [(0, 4, "ORG")]
            if index % 3 == 0:
                spans.append((58, 80, "MONEY"))
            if index % 3 == 2:
                spans.append((63, 71, "PER"))
            truths.append((text, rng.choice(CHOICES), spans))
        open_count = min(args.open, args.tasks)
        with transaction.atomic():
            bulk_insert(
                Task._meta.db_table,
                ("data", "inner_id", "is_labeled", "total_annotations", "labels"),
                ((json.dumps({"text": text}, ensure_ascii=False), index + 1, index >= open_count,
                  2 if index < open_count else 3, "{}") for index, (text, _, _) in enumerate(truths)),
                constants={"project_id": project.pk, "meta": "{}", "cancelled_annotations": 0,
                           "total_predictions": 0, "created_at": now, "updated_at": now},
            )  # fmt: skip
            ids = list(Task.objects.filter(project=project).order_by("inner_id").values_list("id", flat=True))
            rows = []
            for index, (task_id, (text, truth, spans)) in enumerate(zip(ids, truths, strict=True)):
                for user in rng.sample(annotators, 2 if index < open_count else 3):
                    rows.append(
                        (task_id, user.pk, json.dumps(_result(rng, text, truth, spans), ensure_ascii=False),
                         round(rng.uniform(2, 60), 3))
                    )  # fmt: skip
            bulk_insert(
                Annotation._meta.db_table,
                ("task_id", "completed_by_id", "result", "lead_time"),
                rows,
                constants={"project_id": project.pk, "was_cancelled": False, "ground_truth": False,
                           "skip_reason": "", "created_at": now, "updated_at": now},
            )  # fmt: skip
        annotation_count = len(rows)
        del rows
        setup_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        project.refresh_from_db()

        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        # Time spent in each COPY of TaskQuality rows (formatting and the server's work), apart.
        copy_s = [0.0]
        original_bulk_insert = quality.bulk_insert

        def timed_bulk_insert(*args, **kwargs):
            began = time.perf_counter()
            try:
                return original_bulk_insert(*args, **kwargs)
            finally:
                copy_s[0] += time.perf_counter() - began

        quality.bulk_insert = timed_bulk_insert
        from django.conf import settings as django_settings

        runs = []
        for processes in args.processes or [django_settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES]:
            # Worker processes are used on PostgreSQL from TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS
            # tasks; their CPU is the children's time of this process once they have been joined.
            django_settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES = processes
            copy_s[0] = 0.0
            load_before = os.getloadavg()[0]
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            server_cpu_before = _process_cpu_s(backend)
            times_before = os.times()
            started, started_cpu = time.perf_counter(), time.process_time()
            result = quality.project_quality_recompute(project=project, with_activity=True)
            recompute_s = time.perf_counter() - started
            recompute_cpu_s = time.process_time() - started_cpu
            times_after = os.times()
            server_cpu_after = _process_cpu_s(backend)
            recompute_server_cpu_s = (
                round(server_cpu_after - server_cpu_before, 2)
                if server_cpu_before is not None and server_cpu_after is not None
                else None
            )
            load_after = os.getloadavg()[0]
            children_cpu_s = (times_after.children_user + times_after.children_system
                              - times_before.children_user - times_before.children_system)  # fmt: skip
            runs.append({"processes": processes, "recompute_s": round(recompute_s, 2),
                         "python_cpu_s": round(recompute_cpu_s, 2), "worker_processes_cpu_s": round(children_cpu_s, 2),
                         "parent_backend_cpu_s": recompute_server_cpu_s, "load_avg_1m": [load_before, load_after]})  # fmt: skip
        quality.bulk_insert = original_bulk_insert
        # The streamed, ordered read alone (rows fetched and results parsed), after the recompute, with
        # the cyclic collector off as in the recompute.
        import gc

        gc.disable()
        with transaction.atomic():
            began = time.perf_counter()
            for batch in quality._tasks_of(project.pk):
                for _, task_rows in batch:
                    quality._parsed(task_rows)
            read_s = time.perf_counter() - began
        gc.enable()
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)

        # The annotator metrics from scratch: the recompute above rebuilt the dashboard's running totals
        # from every answer (the rows were copied in beside the services, with no totals); the rebuild
        # alone once more, for comparison, then each read (GET /api/projects/{id}/annotators/, ?by=day,
        # /timeline/, /gold/) from them.
        from annotation import annotator_metrics
        from annotation.services.activity_totals import activity_fix

        began = time.perf_counter()
        with transaction.atomic():
            activity_fix(project.pk)
        totals_rebuild_s = time.perf_counter() - began
        metrics_s = {}
        for name, read in (("annotators", annotator_metrics.annotator_rows),
                           ("annotators_by_day", annotator_metrics.annotator_day_rows),
                           ("timeline", annotator_metrics.timeline), ("gold", annotator_metrics.gold_report)):  # fmt: skip
            began = time.perf_counter()
            read(project=project)
            metrics_s[name] = round(time.perf_counter() - began, 3)

        refresh_ms: list[float] = []
        original = quality.task_quality_refresh

        def timed_refresh(**kwargs):
            began = time.perf_counter()
            original(**kwargs)
            refresh_ms.append((time.perf_counter() - began) * 1000)

        annotation_services.task_quality_refresh = timed_refresh
        submit_ms = []
        open_tasks = list(
            Task.objects.filter(project=project, total_annotations=2).select_related("project")[
                : args.samples
            ]
        )
        for task in open_tasks:
            taken = set(Annotation.objects.filter(task=task).values_list("completed_by_id", flat=True))
            user = next(u for u in annotators if u.pk not in taken)
            text, truth, spans = (
                truths[ids.index(task.pk)]
                if args.tasks <= 20_000
                else (task.data["text"], "Positive", [(0, 9, "ORG")])
            )
            began = time.perf_counter()
            annotation_services.annotation_create(
                task=task, user=user, result=_result(rng, text, truth, spans)
            )
            submit_ms.append((time.perf_counter() - began) * 1000)
        annotation_services.task_quality_refresh = original
        read_ms = []
        for _ in range(20):
            began = time.perf_counter()
            _overview(project)
            read_ms.append((time.perf_counter() - began) * 1000)

        def summary(values: list[float]) -> dict:
            return {"p50": round(statistics.median(values), 2), "max": round(max(values), 2)}

        print(json.dumps({
            "tasks": args.tasks, "annotations": annotation_count, "annotators": 6, "overlap": 3,
            "setup_s": round(setup_s, 1), "recompute_s": round(recompute_s, 2),
            "recompute_python_cpu_s": round(recompute_cpu_s + children_cpu_s, 2), "recompute_server_cpu_s": recompute_server_cpu_s,
            "recompute_copy_s": round(copy_s[0], 2), "read_and_parse_s": round(read_s, 2),
            "load_avg_1m_before_recompute": load_before, "load_avg_1m_after_recompute": load_after, "quality_tasks": result.tasks,
            "annotator_metrics_s": metrics_s, "totals_rebuild_s": round(totals_rebuild_s, 2),
            "recompute_and_metrics_s": round(recompute_s + sum(metrics_s.values()), 2),
            "incremental_refresh_ms": summary(refresh_ms), "incremental_submit_ms": summary(submit_ms),
            "agreement_read_ms": summary(read_ms), "samples": len(submit_ms), "recompute_runs": runs,
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        }))  # fmt: skip
    finally:
        connection.close()
        if not args.keep:
            _drop_database(args.database_url)


if __name__ == "__main__":
    main()
