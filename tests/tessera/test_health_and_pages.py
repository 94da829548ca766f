"""Probes (/health, /ready), the CSP of the API's HTML pages, request body limits and private files."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.test import Client

from annotation.models import ImportJob, Project
from tessera.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_health_answers_without_touching_the_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "UP"}


@pytest.mark.django_db
def test_ready_answers_200_when_database_and_broker_answer():
    response = Client().get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "UP", "checks": {"database": "up", "broker": "up"}}


@pytest.mark.django_db
def test_ready_answers_503_naming_an_unreachable_broker(monkeypatch):
    # Port 9 (discard) refuses connections: a broker that is down.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = Client().get("/ready/")
    assert response.status_code == 503
    assert response.json() == {"status": "DOWN", "checks": {"database": "up", "broker": "down"}}


@pytest.mark.django_db
def test_api_docs_load_swagger_ui_from_our_own_origin_under_a_csp_of_self():
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    page = response.content.decode()
    assert "cdn" not in page.lower() and "https://" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "<script>" not in page and "<style>" not in page  # no inline script or style
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    script = Client().get("/api/docs/?script=")
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


@pytest.mark.django_db
def test_the_browsable_api_and_json_answers_have_a_csp(cast):
    client = Client()
    client.force_login(cast.users["manager"])
    page = client.get("/api/projects/", HTTP_ACCEPT="text/html")
    assert page["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page["Content-Security-Policy"]
    data = client.get("/api/projects/")
    assert data["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.django_db
def test_an_anonymous_body_over_the_in_memory_limit_is_refused_before_it_is_read():
    body = "username=a%40b.test&password=" + "x" * 3_000_000
    response = Client().post("/login/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.django_db
def test_a_json_body_over_the_in_memory_limit_answers_413_and_writes_nothing(api, cast):
    body = json.dumps({"title": "big", "description": "x" * 3_000_000})
    response = api("manager").post("/api/projects/", data=body, content_type="application/json")
    assert response.status_code == 413
    assert not Project.objects.filter(title="big").exists()


@pytest.mark.django_db
def test_an_import_body_over_the_in_memory_limit_is_streamed_and_imported(api, cast, make_project):
    project = make_project()
    tasks = [{"text": "x" * 1000} for _ in range(3000)]  # about 3 MB
    response = api("manager").post(f"/api/projects/{project.pk}/import", data=json.dumps(tasks),
                                   content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert project.tasks.count() == 3000


@pytest.mark.django_db
def test_a_background_import_is_stored_privately(api, cast, make_project, settings):
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 1000
    project = make_project()
    body = "\n".join(json.dumps({"text": f"task {index}"}) for index in range(200))
    response = api("manager").post(f"/api/projects/{project.pk}/import", data=body,
                                   content_type="application/x-ndjson")  # fmt: skip
    assert response.status_code == 201, response.content
    job = ImportJob.objects.get(pk=response.json()["import"])
    stored = Path(settings.TESSERA_IMPORT_DIR) / job.file_name
    assert stored.read_text() == body and job.size_bytes == len(body)
    assert mode(stored) == 0o600
    assert mode(stored.parent) == 0o700


def test_a_fresh_data_directory_and_the_files_in_it_are_private(tmp_path):
    data = tmp_path / "data"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TESSERA_")}
    environment.pop("DATABASE_URL", None)
    environment.pop("CELERY_BROKER_URL", None)
    environment["TESSERA_DATA_DIR"] = str(data)
    result = subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    for name in ("secret_key", "tessera.sqlite3"):
        assert mode(data / name) == 0o600, name
    for folder in ("tmp", "broker", "broker/queue", "broker/control"):
        assert mode(data / folder) == 0o700, folder


def test_an_existing_world_readable_data_directory_is_tightened_at_start_up(tmp_path):
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    (data / "tessera.sqlite3").touch()
    (data / "tessera.sqlite3").chmod(0o644)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TESSERA_")}
    environment.pop("DATABASE_URL", None)
    environment["TESSERA_DATA_DIR"] = str(data)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    assert mode(data / "tessera.sqlite3") == 0o600


def test_upload_settings_keep_files_private():
    assert django_settings.FILE_UPLOAD_PERMISSIONS == 0o600
    assert django_settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS == 0o700
    assert django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2_621_440


def test_a_multipart_upload_is_stopped_as_soon_as_it_passes_the_upload_limit(settings):
    """For bodies that declare no length (chunked), the only bound is counting as the files arrive."""
    from io import BytesIO

    from django.core.files.uploadhandler import MemoryFileUploadHandler
    from django.http.multipartparser import MultiPartParser

    from annotation.api.imports import _UploadLimit

    settings.TESSERA_MAX_UPLOAD_BYTES = 1000
    content = b"x" * 300_000  # several of the parser's 64 KB chunks
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + content + b"\r\n--b--\r\n")  # fmt: skip
    limit = _UploadLimit()
    meta = {"CONTENT_TYPE": "multipart/form-data; boundary=b", "CONTENT_LENGTH": str(len(body))}
    _fields, files = MultiPartParser(meta, BytesIO(body), [limit, MemoryFileUploadHandler()]).parse()
    assert limit.exceeded
    assert limit.received < len(content)
    assert "file" not in files


def test_a_shared_sticky_folder_given_as_data_directory_is_left_open(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TESSERA_")}
    environment.pop("DATABASE_URL", None)
    environment["TESSERA_DATA_DIR"] = str(shared)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert mode(shared / "secret_key") == 0o600
