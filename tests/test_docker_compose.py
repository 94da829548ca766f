"""docker-compose.yml describes the production-like stack, and Compose accepts it."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_file_has_database_broker_web_and_a_worker_per_queue():
    services = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    assert {"postgres", "redis", "web", "worker-default", "worker-prelabel", "worker-gpu"} <= set(services)
    assert "gunicorn" in services["web"]["command"]
    for queue in ("default", "prelabel", "gpu"):
        command = services[f"worker-{queue}"]["command"]
        assert command[command.index("-Q") + 1] == queue


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose is not installed")
def test_docker_compose_config_accepts_the_file():
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "config", "-q"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
