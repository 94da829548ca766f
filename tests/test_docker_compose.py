"""docker-compose.yml describes the production-like stack as an operator runs it, and Compose accepts it."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
REQUIRED = {
    "POSTGRES_PASSWORD": "pw",
    "TESSERA_SECRET_KEY": "k" * 50,
    "TESSERA_ALLOWED_HOSTS": "tessera.example.com",
}
# In CI a missing docker-compose must fail the run (.ci/run installs Debian's package), not skip.
needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None and os.environ.get("CI") != "true",
    reason="docker-compose is not installed",
)


def services() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def compose_config(env: dict) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in REQUIRED}
    environment.update(env)
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=ROOT,
    )


def test_compose_file_has_database_broker_web_beat_and_a_worker_per_queue():
    stack = services()
    assert {"postgres", "redis", "web", "beat", "worker-default", "worker-prelabel", "worker-gpu"} <= set(
        stack
    )
    assert "gunicorn" in stack["web"]["command"]
    for queue in ("default", "prelabel", "gpu"):
        command = stack[f"worker-{queue}"]["command"]
        assert command[command.index("-Q") + 1] == queue
    assert stack["beat"]["command"][:4] == ["celery", "-A", "tessera", "beat"]


def test_secrets_have_no_fallback_values():
    text = COMPOSE_FILE.read_text()
    for name in REQUIRED:
        assert f"${{{name}:?" in text, name
        assert f"${{{name}:-" not in text and f"${{{name}}}" not in text, name
    assert "change-me" not in text


def test_web_and_workers_have_health_checks():
    stack = services()
    assert "/health" in " ".join(stack["web"]["healthcheck"]["test"])
    for name in ("worker-default", "worker-prelabel", "worker-gpu"):
        assert "inspect ping" in " ".join(stack[name]["healthcheck"]["test"]), name


def test_the_gpu_worker_starts_only_with_its_profile():
    stack = services()
    assert stack["worker-gpu"]["profiles"] == ["gpu"]
    assert all("profiles" not in service for name, service in stack.items() if name != "worker-gpu")


def test_the_gpu_worker_runs_one_job_at_a_time_on_the_hosts_gpus():
    worker = services()["worker-gpu"]
    command = worker["command"]
    assert command[command.index("--concurrency") + 1] == "1"
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert device["count"] == "all"
    # The run folders and checkpoints live in the data directory, shared with web (models, datasets).
    assert "tessera-data:/data" in worker["volumes"]
    assert worker["environment"]["TESSERA_DATA_DIR"] == "/data"


def test_the_image_context_leaves_out_secrets_environments_and_artefacts():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "**/node_modules", ".env", ".pytest_cache"} <= ignored


@needs_compose
def test_docker_compose_config_accepts_the_file():
    result = compose_config(REQUIRED)
    assert result.returncode == 0, result.stderr


@needs_compose
@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_docker_compose_refuses_to_start_without_each_secret(missing):
    result = compose_config({key: value for key, value in REQUIRED.items() if key != missing})
    assert result.returncode != 0
    assert missing in result.stderr
