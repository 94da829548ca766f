"""A real Celery worker for integration tests: a subprocess on the real Redis and the test's PostgreSQL.

The worker reads and writes the same test database as the test (``transactional_db``,
so that both see committed rows), and the test process publishes to the same Redis
database, so a job enqueued by an API call in the test runs on the worker.

Set ``TESSERA_TEST_REDIS_URL`` to choose the Redis database; by default one of
databases 8 to 15 is picked from the test database's name, so that two checkouts
testing at once with different test databases do not take each other's jobs.
"""

import os
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


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The cast sets passwords; Django's default hasher costs ~0.2 s a user, MD5 keeps setup instant."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _redis_url() -> str:
    configured = os.environ.get("TESSERA_TEST_REDIS_URL")
    if configured:
        return configured
    number = 8 + zlib.crc32(connection.settings_dict["NAME"].encode()) % 8
    return f"redis://127.0.0.1:6379/{number}"


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def broker_url(transactional_db) -> str:
    """The Redis URL the worker and this process share; skips where a worker cannot run."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: a worker process cannot share SQLite's test database (set DATABASE_URL)"
        )
    url = _redis_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {url} is unreachable: {exc}")
    # Messages left by an earlier run name job ids that this fresh test database reuses.
    client.flushdb()
    client.close()
    return url


@contextmanager
def publishing_to(url: str) -> Iterator[None]:
    """Make this process's Celery app publish to ``url`` instead of the configured broker."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport_options)

    def drop_connections() -> None:
        # The app caches a connection pool for the broker it first used, and kombu keeps
        # pools in a registry keyed by URL; clearing both (as after a fork) makes the next
        # publish connect afresh to whatever broker the app names then.
        kombu.pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    drop_connections()
    conf.broker_url = url
    conf.broker_transport_options = {"visibility_timeout": 3600}
    try:
        yield
    finally:
        drop_connections()
        conf.broker_url, conf.broker_transport_options = saved


class Worker:
    """One ``celery -A tessera worker -Q default`` process with a single pool child."""

    def __init__(self, *, broker: str, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "tessera", "worker", "-Q", "default",
            "--pool=prefork", "--concurrency=1", "--loglevel=INFO", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
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


@pytest.fixture
def start_worker(broker_url, settings, tmp_path) -> Iterator[Callable[[], Worker]]:
    """``start_worker()`` starts a real worker on the test database; every one started is stopped at the end."""
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 1024
    env = {
        "DATABASE_URL": _database_url(),
        "TESSERA_DATA_DIR": str(settings.DATA_DIR),
        "TESSERA_SYNC_IMPORT_MAX_BYTES": str(settings.TESSERA_SYNC_IMPORT_MAX_BYTES),
        "TESSERA_CELERY_EAGER": "false",
        # A short-lived connection per task keeps the test database free to drop at the end.
        "TESSERA_DB_CONN_MAX_AGE": "0",
    }
    workers: list[Worker] = []

    def start() -> Worker:
        worker = Worker(broker=broker_url, env=env, log_path=tmp_path / f"worker-{len(workers)}.log")
        workers.append(worker)
        return worker

    with publishing_to(broker_url):
        try:
            yield start
        finally:
            for worker in workers:
                worker.stop()


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
