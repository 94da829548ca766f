"""Another organization's members get 404 for every pre-labeler and job of this one, whatever their
role, and nothing changes."""

from typing import Any

import pytest

from tessera.models import Role
from tessera.services import api_token_create, user_upsert
from tests.annotation.conftest import call
from training.models import Prelabeler, PrelabelJob

pytestmark = pytest.mark.django_db

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("get", "/api/projects/{project}/prelabelers/", None),
    ("post", "/api/projects/{project}/prelabelers/", {"backend": "span_rules"}),
    ("get", "/api/prelabelers/{prelabeler}/", None),
    ("patch", "/api/prelabelers/{prelabeler}/", {"title": "Taken"}),
    ("delete", "/api/prelabelers/{prelabeler}/", None),
    ("post", "/api/prelabelers/{prelabeler}/test/", {"task": "{task}"}),
    ("post", "/api/prelabelers/{prelabeler}/jobs/", {"tasks": "all"}),
    ("get", "/api/prelabel-jobs/{job}/", None),
    ("post", "/api/prelabel-jobs/{job}/cancel/", {}),
    ("get", "/api/projects/{project}/prelabel-jobs/", None),
]


@pytest.fixture
def outsiders(cast):
    """A member of each role of the other organization, with a token."""
    tokens = {}
    for role in Role.values:
        user, _ = user_upsert(
            email=f"{role}@other.test", organization=cast.other_org, role=role, password="pw 1234567"
        )
        tokens[role] = api_token_create(user=user)
    return tokens


def _rows() -> list:
    return [
        list(Prelabeler.objects.order_by("pk").values()),
        list(PrelabelJob.objects.order_by("pk").values()),
    ]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_outsider_of_every_role_gets_404_and_changes_nothing(
    labels_project, make_prelabeler, outsiders, method, path, body
):
    from rest_framework.test import APIClient

    prelabeler = make_prelabeler(labels_project)
    job = PrelabelJob.objects.create(project=labels_project, prelabeler=prelabeler, scope={"tasks": "all"})
    ids = {"project": labels_project.pk, "prelabeler": prelabeler.pk, "job": job.pk,
           "task": labels_project.tasks.first().pk}  # fmt: skip
    url = path.format(**ids)
    if isinstance(body, dict) and body.get("task") == "{task}":
        body = {"task": ids["task"]}
    before = _rows()
    for role, token in outsiders.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = call(client, method, url, body)
        assert response.status_code == 404, (role, method, url, response.status_code, response.content[:200])
    assert _rows() == before
