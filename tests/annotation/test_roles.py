"""What each role may do. A refused call answers 403 and changes nothing."""

import pytest

from annotation.models import Annotation
from tests.annotation.conftest import call, fill_ids
from tests.conftest import SENTIMENT_CONFIG, choice, patch_json, post_json

pytestmark = pytest.mark.django_db

MANAGER_ONLY = [
    ("post", "/api/projects/", {"title": "Mine", "label_config": SENTIMENT_CONFIG}),
    ("patch", "/api/projects/{project}/", {"title": "Renamed"}),
    ("delete", "/api/projects/{project}/", None),
    ("post", "/api/projects/{project}/import", [{"text": "planted"}]),
    ("post", "/api/tasks/", {"project": "{project}", "data": {"text": "planted"}}),
    ("patch", "/api/tasks/{task}/", {"data": {"text": "changed"}}),
    ("delete", "/api/tasks/{task}/", None),
    ("post", "/api/predictions/", {"task": "{task}", "result": choice("Neutral"), "score": 0.9}),
    ("post", "/api/projects/{project}/import/predictions", [{"task": "{task}", "result": choice("Neutral")}]),
    ("delete", "/api/projects/{project}/tasks", None),
    ("delete", "/api/predictions/{prediction}/", None),
]


@pytest.mark.parametrize("role", ["annotator", "reviewer"])
@pytest.mark.parametrize(
    ("method", "path", "body"), MANAGER_ONLY, ids=[f"{m} {p}" for m, p, _ in MANAGER_ONLY]
)
def test_annotator_and_reviewer_cannot_manage_projects_tasks_or_predictions(
    world, api, snapshot, role, method, path, body
):
    ids = {name: obj.pk for name, obj in world.items()}
    before = snapshot()
    response = call(api(role), method, fill_ids(path, ids), fill_ids(body, ids))
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "role_too_low"
    assert role in error["message"]
    assert snapshot() == before


@pytest.mark.parametrize("role", ["manager", "admin", "owner"])
@pytest.mark.parametrize(
    ("method", "path", "body"), MANAGER_ONLY, ids=[f"{m} {p}" for m, p, _ in MANAGER_ONLY]
)
def test_manager_and_above_may_manage_projects_tasks_and_predictions(world, api, role, method, path, body):
    ids = {name: obj.pk for name, obj in world.items()}
    response = call(api(role), method, fill_ids(path, ids), fill_ids(body, ids))
    assert response.status_code in (200, 201, 204), response.content


def test_annotator_may_read_projects_tasks_and_annotations(world, api):
    client = api("annotator")
    for path in ("/api/projects/", "/api/projects/{project}/", "/api/tasks/?project={project}", "/api/tasks/{task}/",
                 "/api/tasks/{task}/annotations/", "/api/annotations/{annotation}/", "/api/predictions/{prediction}/"):  # fmt: skip
        assert client.get(fill_ids(path, {n: o.pk for n, o in world.items()})).status_code == 200, path


@pytest.mark.parametrize(
    ("role", "status", "code"), [("annotator2", 404, "not_found"), ("reviewer", 403, "not_author")]
)
def test_annotator_cannot_change_another_users_annotation(world, api, snapshot, role, status, code):
    """A reviewer sees the annotation but may not change it; another annotator labels blind and does not
    even see it (404)."""
    before = snapshot()
    response = patch_json(
        api(role), f"/api/annotations/{world['annotation'].pk}/", {"result": choice("Neutral")}
    )
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert snapshot() == before


@pytest.mark.parametrize(
    ("role", "status", "code"), [("annotator2", 404, "not_found"), ("reviewer", 403, "not_author")]
)
def test_annotator_cannot_delete_another_users_annotation(world, api, snapshot, role, status, code):
    """A reviewer sees the annotation but may not delete it; another annotator labels blind and does not
    even see it (404)."""
    before = snapshot()
    response = api(role).delete(f"/api/annotations/{world['annotation'].pk}/")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert snapshot() == before


@pytest.mark.parametrize("role", ["manager", "admin", "owner"])
def test_manager_may_change_and_delete_another_users_annotation_keeping_its_author(world, api, cast, role):
    annotation = world["annotation"]
    response = patch_json(api(role), f"/api/annotations/{annotation.pk}/", {"result": choice("Neutral")})
    assert response.status_code == 200
    annotation.refresh_from_db()
    assert annotation.result == choice("Neutral")
    assert annotation.completed_by == cast.users["annotator"]
    assert api(role).delete(f"/api/annotations/{annotation.pk}/").status_code == 204
    assert not Annotation.objects.filter(pk=annotation.pk).exists()


@pytest.mark.parametrize("role", ["annotator", "manager"])
def test_no_one_can_submit_an_annotation_in_someone_elses_name(world, api, cast, snapshot, role):
    before = snapshot()
    other = cast.users["annotator2"]
    response = post_json(
        api(role),
        f"/api/tasks/{world['free_task'].pk}/annotations/",
        {"result": choice("Positive"), "completed_by": other.pk},
    )
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "completed_by"
    assert snapshot() == before


def test_naming_yourself_as_completed_by_is_accepted(world, api, cast):
    user = cast.users["annotator2"]
    response = post_json(
        api("annotator2"), f"/api/tasks/{world['free_task'].pk}/annotations/",
        {"result": choice("Positive"), "completed_by": user.pk},
    )  # fmt: skip
    assert response.status_code == 201
    assert response.json()["completed_by"] == user.pk


@pytest.mark.parametrize("role", ["annotator", "manager"])
def test_no_one_can_hand_an_annotation_to_someone_else(world, api, cast, snapshot, role):
    before = snapshot()
    response = patch_json(
        api(role),
        f"/api/annotations/{world['annotation'].pk}/",
        {"completed_by": cast.users["annotator2"].pk},
    )
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "completed_by"
    assert snapshot() == before


@pytest.mark.parametrize("field", ["task", "project"])
@pytest.mark.parametrize("role", ["annotator", "manager"])
def test_annotation_cannot_be_moved_to_another_task_or_project(
    world, api, make_project, snapshot, field, role
):
    elsewhere = make_project(tasks=[{"text": "Elsewhere."}])
    target = {"task": elsewhere.tasks.get().pk, "project": elsewhere.pk}[field]
    before = snapshot()
    response = patch_json(
        api(role), f"/api/annotations/{world['annotation'].pk}/", {field: target, "result": []}
    )
    assert response.status_code == 403
    assert response.json()["error"]["field"] == field
    assert snapshot() == before


@pytest.mark.parametrize("field", ["task", "project"])
def test_annotation_cannot_be_created_pointing_at_another_task_or_project(
    world, api, make_project, snapshot, field
):
    elsewhere = make_project(tasks=[{"text": "Elsewhere."}])
    target = {"task": elsewhere.tasks.get().pk, "project": elsewhere.pk}[field]
    before = snapshot()
    response = post_json(
        api("annotator2"), f"/api/tasks/{world['free_task'].pk}/annotations/", {field: target, "result": []}
    )
    assert response.status_code == 403
    assert response.json()["error"]["field"] == field
    assert snapshot() == before


def test_sending_back_the_same_task_project_and_author_is_accepted(world, api, cast):
    annotation = world["annotation"]
    body = {"task": annotation.task_id, "project": annotation.project_id, "completed_by": cast.users["annotator"].pk,
            "result": choice("Negative")}  # fmt: skip
    assert patch_json(api("annotator"), f"/api/annotations/{annotation.pk}/", body).status_code == 200


@pytest.mark.parametrize("role", ["reviewer", "manager"])
def test_reviewer_and_manager_may_export(world, api, role):
    assert api(role).get(f"/api/projects/{world['project'].pk}/export").status_code == 200


def test_annotator_cannot_export(world, api):
    response = api("annotator").get(f"/api/projects/{world['project'].pk}/export")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_too_low"
