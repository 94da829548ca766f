"""Another organization's members get 404 for every object of this one, whatever their role,
and nothing changes in the database."""

from typing import Any

import pytest

from tessera.models import Role
from tessera.services import api_token_create, user_upsert
from tests.annotation.conftest import call, fill_ids, json_of
from tests.conftest import choice

pytestmark = pytest.mark.django_db

# (method, path, body): the path is formatted with the world's ids.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("get", "/api/projects/{project}/", None),
    ("patch", "/api/projects/{project}/", {"title": "Taken"}),
    ("delete", "/api/projects/{project}/", None),
    (
        "post",
        "/api/projects/{project}/validate",
        {"label_config": '<View><Text name="t" value="$t"/></View>'},
    ),
    ("post", "/api/projects/{project}/import", [{"text": "planted"}]),
    ("post", "/api/projects/{project}/import/predictions", [{"task": "{task}", "result": choice("Neutral")}]),
    ("get", "/api/projects/{project}/imports/{import_job}/", None),
    ("delete", "/api/projects/{project}/tasks", None),
    ("get", "/api/projects/{project}/next", None),
    ("post", "/api/projects/{project}/next", {}),
    ("get", "/api/projects/{project}/export?exportType=JSON", None),
    ("get", "/api/projects/{project}/export?exportType=CSV&download_all_tasks=true", None),
    ("get", "/api/tasks/?project={project}", None),
    ("post", "/api/tasks/", {"project": "{project}", "data": {"text": "planted"}}),
    ("get", "/api/tasks/{task}/", None),
    ("patch", "/api/tasks/{task}/", {"data": {"text": "changed"}}),
    ("delete", "/api/tasks/{task}/", None),
    ("get", "/api/tasks/{task}/annotations/", None),
    ("post", "/api/tasks/{task}/annotations/", {"result": choice("Neutral")}),
    ("post", "/api/tasks/{task}/annotations/", {"result": [], "was_cancelled": True}),
    ("get", "/api/annotations/{annotation}/", None),
    ("patch", "/api/annotations/{annotation}/", {"result": choice("Neutral")}),
    ("delete", "/api/annotations/{annotation}/", None),
    ("post", "/api/predictions/", {"task": "{task}", "result": choice("Neutral"), "score": 0.9}),
    ("get", "/api/predictions/{prediction}/", None),
    ("delete", "/api/predictions/{prediction}/", None),
    ("get", "/api/tasks/{task}/drafts", None),
    ("post", "/api/tasks/{task}/drafts", {"result": choice("Neutral")}),
    ("get", "/api/drafts/{draft}/", None),
    ("patch", "/api/drafts/{draft}/", {"result": []}),
    ("delete", "/api/drafts/{draft}/", None),
    ("get", "/api/labeling/projects/{project}", None),
    ("get", "/api/labeling/projects/{project}/recent", None),
    ("post", "/api/tasks/{task}/skip", {"reason": "unclear"}),
    ("post", "/api/tasks/{free_task}/lock", None),
    ("delete", "/api/tasks/{free_task}/lock", None),
    ("get", "/api/projects/{project}/prelabel-stats/", None),
]


@pytest.fixture
def outsiders(cast, api):
    """A client for each role of Other Org (its owner is the cast's outsider)."""
    clients = {"owner": api("outsider")}
    for role in Role.values:
        if role == Role.OWNER:
            continue
        user, _ = user_upsert(email=f"{role}@other.test", organization=cast.other_org, role=role)
        client = api(None)
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user)}")
        clients[role] = client
    return clients


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_outsider_of_every_role_gets_404_and_changes_nothing(
    world, outsiders, api, snapshot, method, path, body
):
    ids = {name: obj.pk for name, obj in world.items()}
    before = snapshot()
    for role, client in outsiders.items():
        response = call(client, method, fill_ids(path, ids), fill_ids(body, ids))
        assert response.status_code == 404, (role, response.content)
        error = response.json()["error"]
        assert error["code"] == "not_found", role
        assert "Other Org" not in error["message"] and "Rates" not in error["message"]
    assert snapshot() == before
    # The same call from a member succeeds, so the 404s above are not a mistyped path. The annotator
    # has answered the task already (a second answer is a 409), so a manager adds this one; a lock can
    # be renewed only by whoever holds it, so the owner takes the free task first.
    submitting = method == "post" and path.endswith("/annotations/")
    member = api("annotator" if ("draft" in path or "annotation" in path) and not submitting else "owner")
    if method == "post" and path.endswith("/lock"):
        assert member.get(f"/api/projects/{ids['project']}/next").json()["id"] == ids["free_task"]
    response = call(member, method, fill_ids(path, ids), fill_ids(body, ids))
    assert response.status_code in (200, 201, 204), response.content


def test_outsider_listing_predictions_by_task_or_project_sees_none(world, outsiders):
    for query in (f"task={world['task'].pk}", f"project={world['project'].pk}", ""):
        for role, client in outsiders.items():
            response = client.get(f"/api/predictions/?{query}")
            assert response.status_code == 200
            assert json_of(response) == [], (role, query)


def test_outsider_project_lists_hold_none_of_this_organizations_projects(world, outsiders):
    for client in outsiders.values():
        assert client.get("/api/projects/").json()["count"] == 0
        assert client.get("/api/labeling/projects").json()["results"] == []


def test_outsider_cannot_point_their_own_annotation_at_this_organizations_prediction(
    world, cast, api, make_project, snapshot
):
    own = make_project(org=cast.other_org, tasks=[{"text": "Theirs."}])
    own_task = own.tasks.get()
    before = snapshot()
    response = call(
        api("outsider"),
        "post",
        f"/api/tasks/{own_task.pk}/annotations/",
        {"result": choice("Negative"), "parent_prediction": world["prediction"].pk},
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "parent_prediction"
    assert snapshot() == before


def test_outsider_cannot_attach_a_draft_to_this_organizations_annotation(
    world, cast, api, make_project, snapshot
):
    own = make_project(org=cast.other_org, tasks=[{"text": "Theirs."}])
    before = snapshot()
    response = call(
        api("outsider"),
        "post",
        f"/api/tasks/{own.tasks.get().pk}/drafts",
        {"result": [], "annotation": world["annotation"].pk},
    )
    assert response.status_code == 404
    assert snapshot() == before


def test_a_project_cannot_be_created_in_or_moved_to_another_organization(api, cast, world):
    response = call(
        api("manager"), "post", "/api/projects/", {"title": "Mine", "organization": cast.other_org.pk}
    )
    assert response.status_code == 201
    assert response.json()["organization"] == cast.org.pk
    project = world["project"]
    body = {"organization": cast.other_org.pk, "created_by": cast.users["outsider"].pk, "task_count": 999}
    response = call(api("manager"), "patch", f"/api/projects/{project.pk}/", body)
    assert response.status_code == 200
    project.refresh_from_db()
    assert (project.organization_id, project.created_by, project.task_count) == (
        cast.org.pk,
        cast.users["owner"],
        2,
    )


def test_outsider_cannot_import_predictions_onto_this_organizations_tasks(
    world, cast, api, make_project, snapshot
):
    own = make_project(org=cast.other_org, tasks=[{"text": "Theirs."}])
    before = snapshot()
    body = [{"task": world["task"].pk, "result": choice("Neutral")}]
    response = call(api("outsider"), "post", f"/api/projects/{own.pk}/import/predictions", body)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["field"] == "predictions[0].task"
    assert snapshot() == before
