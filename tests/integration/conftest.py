"""A real Celery worker for integration tests: a subprocess on a real broker and the test's database.

The worker reads and writes the same test database as the test (``transactional_db``,
so that both see committed rows: PostgreSQL, or SQLite's test database, which is a file),
and the test process publishes to the same broker, so a job enqueued by an API call in
the test runs on the worker. Two brokers: Redis (``start_worker``, production's) and
kombu's file-system transport under the data directory (``start_file_broker_worker``,
the demo's). In CI (``CI`` set) a missing service fails the test instead of skipping it:
a green run must mean that a worker ran.

Set ``TESSERA_TEST_REDIS_URL`` to choose the Redis database; by default one of
databases 8 to 15 is picked from the test database's name, so that two checkouts
testing at once with different test databases do not take each other's jobs.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
import redis
from django.db import connection

from tessera.celery import app as celery_app

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKER_STOP_SECONDS = 15


def _redis_url() -> str:
    configured = os.environ.get("TESSERA_TEST_REDIS_URL")
    if configured:
        return configured
    # SQLite's test database lives in a fresh temporary folder on every run: its checkout names it instead.
    name = str(REPO_ROOT) if connection.vendor == "sqlite" else connection.settings_dict["NAME"]
    number = 8 + zlib.crc32(name.encode()) % 8
    return f"redis://127.0.0.1:6379/{number}"


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        # The test database is a file (tessera/settings.py): the worker opens the same one.
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


def skip_unless_ci(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: in CI a worker test may not skip")
    pytest.skip(reason)


@pytest.fixture
def broker_url(transactional_db) -> str:
    """The Redis URL the worker and this process share; skips where Redis is unreachable (fails in CI)."""
    url = _redis_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        client.ping()
    except redis.RedisError as exc:
        skip_unless_ci(f"Redis at {url} is unreachable: {exc}")
    # Messages left by an earlier run name job ids that this fresh test database reuses.
    client.flushdb()
    client.close()
    return url


@contextmanager
def publishing_to(url: str, transport_options: dict | None = None) -> Iterator[None]:
    """Make this process's Celery app publish to ``url`` instead of the configured broker."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)

    def drop_connections() -> None:
        # The app caches a connection pool for the broker it first used, and kombu keeps
        # pools in a registry keyed by URL; clearing both (as after a fork) makes the next
        # publish connect afresh to whatever broker the app names then.
        # (Private attributes, which celery-types leaves out.)
        kombu.pools.reset()
        celery_app._pool = None  # type: ignore[attr-defined]
        celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]

    drop_connections()
    conf.update(broker_url=url, broker_transport_options=transport_options or {"visibility_timeout": 3600})
    try:
        yield
    finally:
        drop_connections()
        conf.update(broker_url=saved[0], broker_transport_options=saved[1])


class Worker:
    """One ``celery -A tessera worker -Q <queues>`` process (``default`` unless told) with a single pool child."""

    def __init__(
        self,
        *,
        broker: str,
        env: dict[str, str],
        log_path: Path,
        beat: bool = False,
        queues: str = "default",
        include: str = "",
    ):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "tessera", "worker", "-Q", queues,
            "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        if include:
            # Modules the worker imports besides the app's (a test's own dataset formats).
            command += ["--include", include]
        if beat:
            # Beat inside the worker, as the demo runs it: the reaper every TESSERA_JOB_REAP_INTERVAL_SECONDS.
            command += ["-B", "--schedule", str(log_path.with_suffix(".beat-schedule"))]
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **env, "CELERY_BROKER_URL": broker},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group, so that stop() reaches the pool children too.
            start_new_session=True,
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def pool_children(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (main process, pool child, beat): a machine that died."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=WORKER_STOP_SECONDS)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=WORKER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=WORKER_STOP_SECONDS)
            except ProcessLookupError:
                pass
        # A pool child can outlive a killed parent for a moment; the group goes as a whole.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._log.close()


def _worker_env(settings) -> dict[str, str]:
    return {
        "DATABASE_URL": _database_url(),
        "TESSERA_DATA_DIR": str(settings.DATA_DIR),
        "TESSERA_SYNC_IMPORT_MAX_BYTES": str(settings.TESSERA_SYNC_IMPORT_MAX_BYTES),
        "TESSERA_CELERY_EAGER": "false",
        # A short-lived connection per task keeps the test database free to drop at the end.
        "TESSERA_DB_CONN_MAX_AGE": "0",
    }


@contextmanager
def _workers(broker: str, base_env: dict[str, str], log_dir: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(
        *, beat: bool = False, env: dict[str, str] | None = None, queues: str = "default", include: str = ""
    ) -> Worker:
        worker = Worker(broker=broker, env={**base_env, **(env or {})},
                        log_path=log_dir / f"worker-{len(workers)}.log", beat=beat, queues=queues,
                        include=include)  # fmt: skip
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def start_worker(broker_url, settings, tmp_path) -> Iterator[Callable[..., Worker]]:
    """``start_worker()`` starts a real worker on Redis and the test database; every one started is stopped.

    ``start_worker(beat=True, env={...})`` runs beat in it too, with settings of its own;
    ``start_worker(queues="prelabel,default")`` takes those queues instead of ``default``.
    """
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 1024
    with publishing_to(broker_url), _workers(broker_url, _worker_env(settings), tmp_path) as start:
        yield start


FILE_BROKER_URL = "filesystem://"


@pytest.fixture
def start_file_broker_worker(transactional_db, settings, tmp_path) -> Iterator[Callable[..., Worker]]:
    """As ``start_worker``, on the demo's broker: kombu's file-system transport in the data directory.

    The worker, started with the same TESSERA_DATA_DIR, finds the same folders (tessera/settings.py).
    """
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 1024
    broker = Path(settings.DATA_DIR) / "broker"
    options: dict[str, str | bool] = {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
        "store_processed": False,
    }
    # Messages left by earlier tests (which publish here by default) name job ids this database reuses.
    shutil.rmtree(broker, ignore_errors=True)
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        Path(str(options[key])).mkdir(parents=True, exist_ok=True)
    with (
        publishing_to(FILE_BROKER_URL, options),
        _workers(FILE_BROKER_URL, _worker_env(settings), tmp_path) as start,
    ):
        yield start


def wait_for(condition: Callable[[], object], *, timeout: float, what: str, worker: Worker | None = None):
    """Poll ``condition`` until it returns something truthy; fail with the worker's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if worker is not None and worker.process.poll() is not None:
            pytest.fail(
                f"the worker exited ({worker.process.returncode}) while waiting for {what}:\n{worker.log()}"
            )
        time.sleep(0.02)
    log = worker.log() if worker is not None else ""
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{log}")
