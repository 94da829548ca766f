"""Worker memory and speed of one large background import, run by a real Celery worker.

Writes a JSON Lines upload of --megabytes (tasks of about --row-bytes each, every one
different, a third of them with an annotation) straight into a fresh data directory,
makes the ImportJob row for it, starts ``celery -A tessera worker`` (prefork, one
child, the file-system broker: nothing else can take the job) and follows the job
until it finishes, reading the pool child's peak resident memory (VmHWM) from /proc.
The database is PostgreSQL (--database-url, a database of its own, made and dropped
here) or, with --sqlite, a file in the data directory. Prints one JSON line;
the upload and the data directory are removed at the end.

    .venv/bin/python bench/import_memory.py --megabytes 1024
"""

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = ("market shares profit outlook guidance revenue demand costs dividend rating merger bank energy "
         "steel yen euro bond yield quarter growth inflation rates oil freight").split()  # fmt: skip
CONFIG = """<View><Text name="text" value="$text"/>
<Choices name="sentiment" toName="text" choice="single">
<Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View>"""


def write_upload(path: Path, *, megabytes: int, row_bytes: int) -> int:
    rng = random.Random(7)
    target = megabytes * 1024 * 1024
    written = rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        while written < target:
            words = []
            length = 0
            while length < row_bytes:
                word = rng.choice(WORDS)
                words.append(word)
                length += len(word) + 1
            row = {"data": {"text": f"{rows}: " + " ".join(words)}, "meta": {"row": rows}}
            if rows % 3 == 0:
                label = ("Positive", "Negative", "Neutral")[rows % 9 // 3]
                row["annotations"] = [{"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                                   "value": {"choices": [label]}}], "lead_time": rows % 60}]  # fmt: skip
            line = json.dumps(row, ensure_ascii=False) + "\n"
            handle.write(line)
            written += len(line.encode())
            rows += 1
    return rows


def postgres_database(url: str, name: str, *, drop: bool) -> str:
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunsplit(parts._replace(path=f"/{name}"))


def peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--row-bytes", type=int, default=900)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--timeout", type=int, default=3600)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="tessera-import-memory-"))
    database_name = f"tessera_bench_import_memory_{os.getpid()}"
    env = {
        **os.environ,
        "TESSERA_DATA_DIR": str(data_dir),
        "CELERY_BROKER_URL": "filesystem://",
        "TESSERA_DB_CONN_MAX_AGE": "0",
        "TESSERA_MAX_TASKS_PER_IMPORT": str(10**8),
        "TESSERA_CELERY_EAGER": "false",
    }
    if args.sqlite:
        env["DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    else:
        env["DATABASE_URL"] = postgres_database(args.database_url, database_name, drop=False)
    os.environ.update(env)
    worker = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
        django.setup()
        from django.conf import settings

        from annotation.models import ImportJob, JobState
        from annotation.services.projects import project_create
        from annotation.tasks import run_import_job
        from tessera.models import Role
        from tessera.services import organization_get_or_create, user_upsert

        import_dir = Path(settings.TESSERA_IMPORT_DIR)
        import_dir.mkdir(parents=True, exist_ok=True)
        stored = f"{uuid.uuid4().hex}.jsonl"
        started = time.perf_counter()
        rows = write_upload(import_dir / stored, megabytes=args.megabytes, row_bytes=args.row_bytes)
        size = (import_dir / stored).stat().st_size
        generate_seconds = time.perf_counter() - started

        organization = organization_get_or_create(title="Import memory")
        user, _ = user_upsert(email="bench@tessera.example", organization=organization, role=Role.OWNER,
                              password="bench-password")  # noqa: S106  # fmt: skip
        project = project_create(organization=organization, user=user,
                                 fields={"title": "Import memory", "label_config": CONFIG})  # fmt: skip
        job = ImportJob.objects.create(project=project, created_by=user, file_name=stored, original_name=stored,
                                       file_format="jsonl", size_bytes=size)  # fmt: skip

        log = open(data_dir / "worker.log", "wb")  # noqa: SIM115 - closed below
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "tessera", "worker", "-Q", "default",
             "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        time.sleep(3)
        main_before = peak_kib(worker.pid)
        submitted = time.perf_counter()
        run_import_job.delay(job.pk)
        child_peak = main_peak = 0
        while True:
            for pid in children(worker.pid):
                child_peak = max(child_peak, peak_kib(pid))
            main_peak = max(main_peak, peak_kib(worker.pid))
            job.refresh_from_db()
            if job.state in (JobState.COMPLETED, JobState.FAILED):
                break
            if time.perf_counter() - submitted > args.timeout or worker.poll() is not None:
                raise SystemExit(
                    f"the job did not finish: {job.state}\n{(data_dir / 'worker.log').read_text()}"
                )
            time.sleep(0.5)
        wall = time.perf_counter() - submitted
        for pid in children(worker.pid):
            child_peak = max(child_peak, peak_kib(pid))
        assert job.finished_at is not None and job.started_at is not None  # set by the claim and by the end
        job_seconds = (job.finished_at - job.started_at).total_seconds()
        print(json.dumps({
            "bench": "import_memory",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "database": "sqlite" if args.sqlite else "postgresql",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": os.getloadavg()[0]},
            "upload_bytes": size,
            "rows": rows,
            "generate_seconds": round(generate_seconds, 1),
            "state": job.state,
            "error": job.error,
            "tasks": job.task_count,
            "annotations": job.annotation_count,
            "job_seconds": round(job_seconds, 1),
            "wall_seconds": round(wall, 1),
            "tasks_per_second": round(job.task_count / job_seconds) if job_seconds else None,
            "worker_child_peak_rss_mb": round(child_peak / 1024, 1),
            "worker_main_peak_rss_mb": round(max(main_peak, main_before) / 1024, 1),
            "target_child_under_mb": 500,
        }))  # fmt: skip
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, 15)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        from django.db import connections

        connections.close_all()
        shutil.rmtree(data_dir, ignore_errors=True)
        if not args.sqlite:
            postgres_database(args.database_url, database_name, drop=True)


if __name__ == "__main__":
    main()
