"""Bodies sent with ``Transfer-Encoding: chunked`` (no Content-Length) are read whole, or refused with 411;
never read as empty, which stored annotations with ``result: []``, created "New project"s and answered
200 to PATCHes that changed nothing.

In-process, a chunked request is what gunicorn hands Django: no CONTENT_LENGTH, the decoded body in
``wsgi.input``, ``wsgi.input_terminated`` set. A second test sends real chunks to a real gunicorn.
"""

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from annotation.models import Annotation, Draft, Prediction, Project, Task
from tessera.models import ApiToken
from tests.annotation.conftest import fill_ids
from tests.conftest import SENTIMENT_CONFIG, choice

REPO_ROOT = Path(__file__).resolve().parents[2]


def send_chunked(
    client, method: str, path: str, body: bytes, content_type="application/json", terminated=True
):
    """What a WSGI server that decodes chunks (gunicorn) hands Django for a chunked request."""
    extra = {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }
    if terminated:
        extra["wsgi.input_terminated"] = True
    return client.generic(method.upper(), path, data=body, content_type=content_type, **extra)


def _project(world):
    return Project.objects.get(pk=world["project"].pk)


def _annotation(world):
    return Annotation.objects.get(pk=world["annotation"].pk)


def _newest(model):
    return model.objects.order_by("-pk").first()


# (role, method, path, body, status, check): check(world, response) proves the body was read.
WRITES = [
    ("owner", "post", "/api/projects/", {"title": "Chunked", "label_config": SENTIMENT_CONFIG}, 201,
     lambda world, r: _newest(Project).title == "Chunked"),
    ("owner", "patch", "/api/projects/{project}/", {"title": "Chunked"}, 200,
     lambda world, r: _project(world).title == "Chunked"),
    ("annotator", "post", "/api/projects/validate", {"label_config": SENTIMENT_CONFIG}, 200,
     lambda world, r: r.json()["data_variables"] == ["text"]),
    ("annotator", "post", "/api/projects/{project}/validate", {"label_config": SENTIMENT_CONFIG}, 200,
     lambda world, r: r.json()["data_variables"] == ["text"]),
    ("owner", "post", "/api/projects/{project}/import", [{"text": "chunked"}], 201,
     lambda world, r: _newest(Task).data == {"text": "chunked"}),
    ("owner", "post", "/api/projects/{project}/import/predictions",
     [{"task": "{free_task}", "result": choice("Neutral"), "model_version": "chunked"}], 201,
     lambda world, r: Prediction.objects.filter(model_version="chunked").count() == 1),
    ("owner", "post", "/api/tasks/", {"project": "{project}", "data": {"text": "chunked"}}, 201,
     lambda world, r: _newest(Task).data == {"text": "chunked"}),
    ("owner", "patch", "/api/tasks/{task}/", {"data": {"text": "chunked"}}, 200,
     lambda world, r: Task.objects.get(pk=world["task"].pk).data == {"text": "chunked"}),
    ("owner", "post", "/api/tasks/{free_task}/annotations/", {"result": choice("Neutral")}, 201,
     lambda world, r: _newest(Annotation).result == choice("Neutral")),
    ("annotator", "patch", "/api/annotations/{annotation}/", {"result": choice("Neutral")}, 200,
     lambda world, r: _annotation(world).result == choice("Neutral")),
    ("owner", "post", "/api/predictions/", {"task": "{task}", "result": choice("Neutral"), "score": 0.25}, 201,
     lambda world, r: _newest(Prediction).score == 0.25),
    ("owner", "patch", "/api/predictions/{prediction}/", {"score": 0.25}, 200,
     lambda world, r: Prediction.objects.get(pk=world["prediction"].pk).score == 0.25),
    ("owner", "post", "/api/tasks/{task}/drafts", {"result": choice("Neutral")}, 201,
     lambda world, r: _newest(Draft).result == choice("Neutral")),
    ("annotator", "patch", "/api/drafts/{draft}/", {"result": choice("Positive")}, 200,
     lambda world, r: Draft.objects.get(pk=world["draft"].pk).result == choice("Positive")),
    ("annotator", "post", "/api/tasks/{free_task}/skip", {"reason": "chunked"}, 201,
     lambda world, r: _newest(Annotation).skip_reason == "chunked"),
    ("owner", "post", "/api/tokens/", {"name": "chunked", "expires_in_days": 7}, 201,
     lambda world, r: ApiToken.objects.filter(name="chunked", expires_at__isnull=False).exists()),
    ("owner", "post", "/api/organizations/switch", {"organization": "{org}"}, 200,
     lambda world, r: r.json()["active_organization"] == world["org"].pk),
    # No DELETE reads its body; one sent chunked is read off the wire and the delete still happens.
    ("annotator", "delete", "/api/drafts/{draft}/", {"ignored": True}, 204,
     lambda world, r: not Draft.objects.filter(pk=world["draft"].pk).exists()),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "method", "path", "body", "status", "check"),
    WRITES,
    ids=[f"{m} {p}" for _, m, p, *_ in WRITES],
)
def test_every_write_endpoint_reads_a_chunked_body(world, cast, api, role, method, path, body, status, check):
    world = {**world, "org": cast.org}
    ids = {name: obj.pk for name, obj in world.items()}
    raw = json.dumps(fill_ids(body, ids)).encode()
    response = send_chunked(api(role), method, fill_ids(path, ids), raw)
    assert response.status_code == status, response.content
    assert check(world, response)


@pytest.mark.django_db
def test_a_chunked_csv_import_and_a_chunked_multipart_import_are_read(world, api):
    path = f"/api/projects/{world['project'].pk}/import"
    response = send_chunked(api("owner"), "post", path, b"text\nfrom csv\n", content_type="text/csv")
    assert response.status_code == 201, response.content
    boundary = "chunkedboundary"
    multipart = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="tasks.json"\r\n'
        f'Content-Type: application/json\r\n\r\n[{{"text": "from a file"}}]\r\n--{boundary}--\r\n'
    ).encode()
    response = send_chunked(
        api("owner"), "post", path, multipart, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 201, response.content
    assert [task.data for task in Task.objects.order_by("-pk")[:2]] == [
        {"text": "from a file"},
        {"text": "from csv"},
    ]


@pytest.mark.django_db
def test_a_chunked_body_the_server_did_not_decode_is_refused_with_411(world, api, snapshot):
    """Without wsgi.input_terminated (Django's runserver) the stream holds the raw chunk framing."""
    before = snapshot()
    path = f"/api/tasks/{world['free_task'].pk}/annotations/"
    response = send_chunked(
        api("owner"), "post", path, json.dumps({"result": choice("Neutral")}).encode(), terminated=False
    )
    assert response.status_code == 411
    assert response.json()["error"]["code"] == "length_required"
    assert snapshot() == before


@pytest.mark.django_db
def test_a_chunked_body_beyond_the_largest_accepted_is_refused_with_413(world, api, snapshot, settings):
    settings.TESSERA_MAX_UPLOAD_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = snapshot()
    body = json.dumps({"title": "x" * 2000}).encode()
    response = send_chunked(api("owner"), "patch", f"/api/projects/{world['project'].pk}/", body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert snapshot() == before


@pytest.mark.django_db
def test_a_chunked_body_within_the_upload_limit_still_meets_djangos_own_limit(world, api, settings):
    """The length the middleware hands on is checked like any Content-Length: a 413, not a silent cut."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"title": "x" * 500}).encode()
    response = send_chunked(api("owner"), "patch", f"/api/projects/{world['project'].pk}/", body)
    assert response.status_code == 413
    assert Project.objects.get(pk=world["project"].pk).title == "Sentiment"


# A real server decoding real chunks.


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db, settings, tmp_path):
    """gunicorn serving tessera.wsgi on the test database; yields its port."""
    port = _free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tessera.wsgi:application", "-b", f"127.0.0.1:{port}",
         "-w", "1", "--threads", "2", "--graceful-timeout", "2"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": _database_url(), "TESSERA_DATA_DIR": str(settings.DATA_DIR),
             "TESSERA_DB_CONN_MAX_AGE": "0"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{(tmp_path / 'gunicorn.log').read_text()}")
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


def _chunked_request(port: int, method: str, path: str, body: bytes, token: str, content_type: str):
    """Send ``body`` in several real chunks, without Content-Length."""
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    connection_.request(
        method,
        path,
        body=iter(pieces),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": content_type,
            "Transfer-Encoding": "chunked",
        },
        encode_chunked=True,
    )
    response = connection_.getresponse()
    payload = response.read()
    connection_.close()
    return response.status, payload


def test_gunicorn_chunked_bodies_are_stored_as_sent(gunicorn, cast, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}])
    task = project.tasks.get()
    token = cast.tokens["owner"]

    status, payload = _chunked_request(
        gunicorn, "POST", f"/api/tasks/{task.pk}/annotations/", json.dumps({"result": choice("Negative")}).encode(),
        token, "application/json",
    )  # fmt: skip
    assert status == 201, payload
    assert Annotation.objects.get(task=task).result == choice("Negative")

    status, payload = _chunked_request(
        gunicorn, "PATCH", f"/api/projects/{project.pk}/", json.dumps({"title": "Renamed"}).encode(), token,
        "application/json",
    )  # fmt: skip
    assert status == 200, payload
    assert Project.objects.get(pk=project.pk).title == "Renamed"

    status, payload = _chunked_request(
        gunicorn, "POST", f"/api/projects/{project.pk}/import", b"text\none\ntwo\n", token, "text/csv"
    )
    assert status == 201, payload
    assert project.tasks.count() == 3


@pytest.mark.django_db
def test_under_asgi_a_chunked_multipart_body_gets_its_length(settings):
    """An ASGI server hands Django the whole body but no length; the multipart parser would read nothing."""
    from django.test import AsyncRequestFactory

    from tessera.middleware import ChunkedBodyMiddleware

    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nread\r\n--{boundary}--\r\n'
    ).encode()
    request = AsyncRequestFactory().generic(
        "POST", "/api/anything", data=body, content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Transfer-Encoding": "chunked"},
    )  # fmt: skip
    request.META.pop("CONTENT_LENGTH", None)
    # What Django's ASGIHandler reads the body into (the factory's stand-in cannot seek).
    request._stream = tempfile.SpooledTemporaryFile()
    request._stream.write(body)
    request._stream.seek(0)
    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen["note"] = request.POST.get("note")
        return HttpResponse()

    ChunkedBodyMiddleware(view)(request)
    assert seen == {"note": "read"}
    settings.TESSERA_MAX_UPLOAD_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    request._stream.seek(0)
    request.META.pop("CONTENT_LENGTH", None)
    assert ChunkedBodyMiddleware(view)(request).status_code == 413


class _EndlessBody(io.RawIOBase):
    """A client that keeps sending: counts what the server reads."""

    def __init__(self):
        self.read_bytes = 0

    def read(self, size=-1):
        size = 65536 if size is None or size < 0 else size
        self.read_bytes += size
        return b"x" * size


@pytest.mark.django_db
def test_a_chunked_body_is_read_no_further_than_the_endpoint_accepts(world, api, settings):
    """Bodies are read before authentication: an endless one must stop at the endpoint's limit."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    settings.TESSERA_MAX_UPLOAD_BYTES = 1_000_000
    for path, limit in (
        ("/api/projects/", 100_000),
        (f"/api/projects/{world['project'].pk}/import", 1_000_000),
    ):
        body = _EndlessBody()
        response = api(None).generic(
            "POST", path, content_type="application/json",
            **{"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": body, "wsgi.input_terminated": True},
        )  # fmt: skip
        assert response.status_code == 413
        assert limit < body.read_bytes <= limit + 65536
