"""Seconds of one background import job by phase, in process (no HTTP server, no broker).

Writes the body ``hot_paths_bench.py`` posts (N unlabeled tasks, one JSON array, every text
different) into the imports folder of a fresh data directory, makes the ``ImportJob`` row and runs
``import_job_run`` here, timing the check pass (``_check_items``) and the write pass
(``_write_batch``); the rest of the job's time is the parse of the upload, the lease's renewals and
the commit (where PostgreSQL runs its deferred foreign-key checks). ``--profile FILE`` writes a
cProfile of the job. It works on a fresh PostgreSQL database of its own (``--database-url``, dropped
at the end). Prints one JSON line.

Usage (from the repository root)::

    .venv/bin/python bench/import_job_phases.py --tasks 1000000
"""

import argparse
import cProfile
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import api_bench  # noqa: E402 - the database helpers and the body's tasks

PHASES = ("_check_items", "_write_batch")


def run(args: argparse.Namespace) -> dict:
    os.environ["TESSERA_DATA_DIR"] = tempfile.mkdtemp(prefix="tessera-import-job-phases-")
    os.environ["TESSERA_LOG_LEVEL"] = "WARNING"
    os.environ["TESSERA_MAX_TASKS_PER_IMPORT"] = str(args.tasks)
    api_bench.database_create(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from annotation.models import ImportJob
    from annotation.services import import_jobs, imports
    from annotation.services.projects import project_create
    from tessera.services import organization_get_or_create, user_upsert

    call_command("migrate", verbosity=0)
    organization = organization_get_or_create(title="Bench")
    user, _ = user_upsert(
        email="owner@bench.test", organization=organization, role="owner", password="x" * 16
    )
    project = project_create(organization=organization, user=user, fields={
        "title": "Background import", "label_config": api_bench.SENTIMENT_CONFIG, "maximum_annotations": 3,
    })  # fmt: skip
    body = api_bench.unlabeled_batch(0, args.tasks)
    folder = Path(settings.TESSERA_IMPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "upload.json").write_bytes(body)
    job = ImportJob.objects.create(project=project, created_by=user, file_name="upload.json",
                                   original_name="upload.json", file_format="json", size_bytes=len(body))  # fmt: skip

    seconds = dict.fromkeys(PHASES, 0.0)
    for name in PHASES:
        function = getattr(imports, name)

        def timed(*arguments, _function=function, _name=name, **options):
            began = time.perf_counter()
            try:
                return _function(*arguments, **options)
            finally:
                seconds[_name] += time.perf_counter() - began

        setattr(imports, name, timed)
    profiler = cProfile.Profile() if args.profile else None
    began = time.perf_counter()
    if profiler:
        profiler.enable()
    import_jobs.import_job_run(job_id=job.pk)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    total = time.perf_counter() - began
    job.refresh_from_db()
    from django.db import connections

    connections.close_all()
    api_bench.database_drop(args.database_url)
    return {
        "bench": "import_job_phases",
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_end": api_bench.load_average()},
        "tasks": args.tasks,
        "bytes": len(body),
        "state": job.state,
        "task_count": job.task_count,
        "job_seconds": round(total, 2),
        "tasks_per_s": round(args.tasks / total),
        "check_seconds": round(seconds["_check_items"], 2),
        "write_seconds": round(seconds["_write_batch"], 2),
        "parse_commit_and_rest_seconds": round(total - sum(seconds.values()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/tessera_bench_job_phases"
    )
    parser.add_argument("--profile", help="write a cProfile of the job to this file")
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
