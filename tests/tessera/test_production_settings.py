"""Production settings come from the environment, and `manage.py check --deploy` is clean with them."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent.parent

PRODUCTION_ENV = {
    "TESSERA_SECRET_KEY": secrets.token_urlsafe(60),
    "TESSERA_DEBUG": "false",
    "TESSERA_ALLOWED_HOSTS": "tessera.example.com",
    "TESSERA_CSRF_TRUSTED_ORIGINS": "https://tessera.example.com",
    "TESSERA_SECURE_COOKIES": "true",
    "TESSERA_HSTS_SECONDS": "31536000",
    "TESSERA_HSTS_INCLUDE_SUBDOMAINS": "true",
    "TESSERA_HSTS_PRELOAD": "true",
    "TESSERA_SSL_REDIRECT": "true",
    "TESSERA_PROXY_SSL_HEADER": "X-Forwarded-Proto=https",
}


def run_manage(tmp_path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # Not the test run's own settings: DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' conftest.
    skipped = {"DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TESSERA_") and key not in skipped
    }
    environment.update({"TESSERA_DATA_DIR": str(tmp_path / "data"), **(env or {})})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


def deploy_issues(output: str) -> list[str]:
    return [line.split(")")[0].split("(")[-1] for line in output.splitlines() if line.startswith("?: (")]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", env=PRODUCTION_ENV)
    issues = deploy_issues(result.stdout + result.stderr)
    # Schema warnings (drf_spectacular.W001) count too: the typed schema has none.
    assert issues == [], result.stdout + result.stderr
    assert result.returncode == 0


def test_check_deploy_names_what_a_public_install_must_turn_on(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy")
    issues = set(deploy_issues(result.stdout + result.stderr))
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= issues


def settings_under(tmp_path, env: dict) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({n: getattr(s, n)"
        " for n in ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', 'SECURE_HSTS_SECONDS',"
        " 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', 'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER',"
        " 'CSRF_TRUSTED_ORIGINS', 'DATA_UPLOAD_MAX_MEMORY_SIZE']}))"
    )
    result = run_manage(tmp_path, "shell", "-c", script, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_settings_are_read_from_the_environment(tmp_path):
    values = settings_under(tmp_path, PRODUCTION_ENV)
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "CSRF_TRUSTED_ORIGINS": ["https://tessera.example.com"],
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 2_621_440,
    }


def test_defaults_run_a_clone_on_plain_http(tmp_path):
    values = settings_under(tmp_path, {})
    assert values["SESSION_COOKIE_SECURE"] is False and values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] is None and values["SECURE_HSTS_SECONDS"] == 0


@pytest.mark.parametrize("value", ["X Forwarded Proto", "=https"])
def test_a_bad_proxy_header_stops_start_up_naming_the_variable(tmp_path, value):
    result = run_manage(tmp_path, "check", env={"TESSERA_PROXY_SSL_HEADER": value})
    assert result.returncode != 0
    assert "TESSERA_PROXY_SSL_HEADER" in result.stderr


@pytest.mark.django_db
def test_the_csrf_cookie_is_http_only_and_the_token_is_in_the_page():
    response = Client().get("/login/")
    cookie = response.cookies["csrftoken"]
    assert cookie["httponly"] is True
    assert b'name="csrfmiddlewaretoken"' in response.content


@pytest.mark.django_db
def test_hsts_and_ssl_redirect_when_turned_on(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    response = client.get("/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    response = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"
    # Probes call these over plain HTTP from inside the container.
    assert client.get("/health").status_code == 200
    assert client.get("/ready").status_code == 200
