"""Taking a task is a state change: the labeling page takes it with POST /next, and a GET of /next
carried by the session cookie (which any same-origin <img> in task data would send) takes nothing."""

import pytest
from django.test import Client

from annotation.models import TaskLock
from tests.conftest import choice, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_tasks(make_project):
    return make_project(tasks=[{"text": f"task {i}"} for i in range(1, 4)])


def browser(cast, role: str = "annotator") -> Client:
    """A signed-in browser: the session cookie, and CSRF checked as for a real page."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.users[role])
    return client


def csrf_token(client: Client) -> str:
    client.get("/projects/")
    return client.cookies["csrftoken"].value


def locks() -> list[tuple[int, int, object]]:
    return list(TaskLock.objects.order_by("pk").values_list("task_id", "user_id", "expires_at"))


def test_a_session_get_of_next_takes_no_lock(cast, three_tasks):
    response = browser(cast).get(f"/api/projects/{three_tasks.pk}/next")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "post_required"
    assert locks() == []


def test_a_session_get_of_next_answers_the_held_task_without_touching_its_lock(api, cast, three_tasks):
    taken = post_json(api("annotator"), f"/api/projects/{three_tasks.pk}/next", {}).json()
    before = locks()
    response = browser(cast).get(f"/api/projects/{three_tasks.pk}/next")
    assert response.status_code == 200
    assert response.json()["id"] == taken["id"] and response.json()["drafts"] == []
    assert locks() == before


def test_a_session_get_of_next_does_not_let_go_of_a_task_held_elsewhere(api, cast, three_tasks, make_project):
    # The lock an annotator holds in one project is dropped when they take a task anywhere else:
    # a GET through an <img> in another project's data must not do that either.
    other = make_project(tasks=[{"text": "other"}])
    post_json(api("annotator"), f"/api/projects/{three_tasks.pk}/next", {})
    before = locks()
    assert browser(cast).get(f"/api/projects/{other.pk}/next").status_code == 409
    assert locks() == before


def test_the_labeling_page_takes_a_task_with_post_and_csrf(cast, three_tasks):
    client = browser(cast)
    url = f"/api/projects/{three_tasks.pk}/next"
    assert client.post(url).status_code == 403  # no CSRF token: refused, nothing taken
    assert locks() == []
    response = client.post(url, HTTP_X_CSRFTOKEN=csrf_token(client))
    assert response.status_code == 200
    body = response.json()
    assert body["inner_id"] == 1 and body["drafts"] == [] and body["annotations"] == []
    assert [(task, user) for task, user, _ in locks()] == [(body["id"], cast.users["annotator"].pk)]


def test_post_next_answers_the_same_shape_as_a_token_get(api, three_tasks):
    by_get = api("annotator").get(f"/api/projects/{three_tasks.pk}/next").json()
    by_post = post_json(api("annotator"), f"/api/projects/{three_tasks.pk}/next", {}).json()
    assert by_post == by_get  # the task already held comes back, with the same keys


def test_token_get_of_next_still_takes_a_lock_for_label_studio_clients(api, cast, three_tasks):
    body = api("annotator").get(f"/api/projects/{three_tasks.pk}/next").json()
    assert [(task, user) for task, user, _ in locks()] == [(body["id"], cast.users["annotator"].pk)]


def test_post_next_of_another_organizations_project_is_not_found(api, cast, make_project):
    other = make_project(org=cast.other_org, tasks=[{"text": "theirs"}])
    response = post_json(api("annotator"), f"/api/projects/{other.pk}/next", {})
    assert response.status_code == 404
    assert locks() == []


def test_post_next_needs_a_signed_in_member(api, three_tasks):
    response = post_json(api(None), f"/api/projects/{three_tasks.pk}/next", {})
    assert response.status_code in (401, 403)
    assert locks() == []


def test_post_next_at_the_end_of_the_queue_writes_nothing(api, make_project):
    project = make_project(tasks=[{"text": "only"}])
    task_id = post_json(api("annotator"), f"/api/projects/{project.pk}/next", {}).json()["id"]
    post_json(api("annotator"), f"/api/tasks/{task_id}/annotations/", {"result": choice("Positive")})
    before = locks()
    response = post_json(api("annotator"), f"/api/projects/{project.pk}/next", {})
    assert response.status_code == 404 and response.json()["error"]["code"] == "no_more_tasks"
    assert locks() == before
    response = post_json(api("annotator"), "/api/projects/notanid/next", {})
    assert response.status_code == 404
