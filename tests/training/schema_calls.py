"""Calls that take /api/ml/ through each of its documented answers, for tests/test_openapi_schema.py's walk
over every endpoint (``call`` is that test's ``Caller`` maker, which validates each answer)."""

from collections.abc import Callable
from typing import Any

from tests.training.loopback_servers import ml_backend_routes, serve


def ml_api_answers(call: Callable[[str], Any], project_id: int, settings: Any) -> None:
    manager, annotator, outsider = call("manager"), call("annotator"), call("outsider")
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with serve(ml_backend_routes(lambda body: {"results": []})) as server:
        created = manager("post", "/api/ml/", {"url": server.url, "project": project_id}, expect=201)
        manager("post", "/api/ml/", {"url": "ftp://x", "project": project_id}, expect=400)
        annotator("post", "/api/ml/", {"url": server.url, "project": project_id}, expect=403)
        outsider("post", "/api/ml/", {"url": server.url, "project": project_id}, expect=404)
        manager("get", f"/api/ml/?project={project_id}", expect=200)
        manager("get", "/api/ml/?project=x", expect=400)
        annotator("get", "/api/ml/", expect=403)
        outsider("get", f"/api/ml/?project={project_id}", expect=404)
        url = f"/api/ml/{created['id']}/"
        manager("get", url, expect=200)
        annotator("get", url, expect=403)
        outsider("get", url, expect=404)
        manager("patch", url, {"title": "Renamed", "basic_auth_pass": "kept secret"}, expect=200)
        manager("patch", url, {"timeout": "soon"}, expect=400)
        annotator("patch", url, {"title": "No"}, expect=403)
        outsider("patch", url, {"title": "No"}, expect=404)
        annotator("delete", url, expect=403)
        outsider("delete", url, expect=404)
        manager("delete", url, expect=204)
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = []
