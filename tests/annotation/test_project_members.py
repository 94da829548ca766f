"""Project membership: /api/projects/{id}/members/, and what a members-only project serves to whom.

When a project restricts membership (``members_only``), /next, submit, skip and the labeling page's
project list serve only its members, and managers and above, at one indexed EXISTS more than an open
project costs.
"""

import pytest

from annotation.models import Annotation, Project, ProjectMember
from tessera.models import AuditEvent
from tests.annotation.test_query_counts import NEXT_QUERIES, SUBMIT_QUERIES
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db

EVERY_ROLE = ["owner", "admin", "manager", "reviewer", "annotator"]
READERS = {"owner", "admin", "manager", "reviewer"}
CHANGERS = {"owner", "admin", "manager"}


@pytest.fixture
def project(make_project):
    return make_project(tasks=[{"text": f"Headline {i}"} for i in range(4)], members_only=True)


def members_url(project) -> str:
    return f"/api/projects/{project.pk}/members/"


def add(api, project, user) -> None:
    assert post_json(api("manager"), members_url(project), {"user": user.pk}).status_code == 201


# ---- the endpoints, by role ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_reviewers_and_above_read_the_members(api, cast, project, role):
    add(api, project, cast.users["annotator"])
    response = api(role).get(members_url(project))
    assert response.status_code == (200 if role in READERS else 403)
    if role in READERS:
        (row,) = response.json()
        assert row["user"]["email"] == "annotator@acme.test"
        assert row["role"] == "annotator" and row["added_at"]


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_managers_and_above_add_members(api, cast, project, role):
    response = post_json(api(role), members_url(project), {"email": "Annotator2@acme.test"})
    assert response.status_code == (201 if role in CHANGERS else 403)
    assert ProjectMember.objects.filter(project=project).count() == (1 if role in CHANGERS else 0)


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_managers_and_above_remove_members(api, cast, project, role):
    annotator = cast.users["annotator"]
    add(api, project, annotator)
    add(api, project, cast.users["annotator2"])
    by_path = api(role).delete(f"{members_url(project)}{annotator.pk}/")
    by_body = api(role).generic(
        "DELETE", members_url(project), f'{{"user": {cast.users["annotator2"].pk}}}', "application/json"
    )
    expected = 204 if role in CHANGERS else 403
    assert (by_path.status_code, by_body.status_code) == (expected, expected)
    assert ProjectMember.objects.filter(project=project).count() == (0 if role in CHANGERS else 2)


def test_another_organization_answers_404(api, cast, project, make_project):
    outsider = api("outsider")
    assert outsider.get(members_url(project)).status_code == 404
    assert post_json(outsider, members_url(project), {"user": cast.users["outsider"].pk}).status_code == 404
    assert outsider.delete(f"{members_url(project)}{cast.users['annotator'].pk}/").status_code == 404
    theirs = make_project(org=cast.other_org)
    assert api("owner").get(members_url(theirs)).status_code == 404
    assert (
        post_json(api("owner"), members_url(theirs), {"user": cast.users["annotator"].pk}).status_code == 404
    )
    assert not ProjectMember.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [({"user": "outsider"}, "user", "not_a_member"), ({"email": "owner@other.test"}, "email", "not_a_member"),
     ({"email": "nobody@acme.test"}, "email", "not_a_member"), ({}, "user", "required"),
     ({"user": 1, "email": "a@b.test"}, "user", "required"), ({"user": "7"}, "user", "invalid"),
     ({"user": True}, "user", "invalid"), ({"email": "x"}, "email", "invalid"), ({"role": "x"}, "role", "invalid")],
)  # fmt: skip
def test_only_active_members_of_the_organization_can_be_added(api, cast, project, body, field, code):
    if body.get("user") == "outsider":
        body = {"user": cast.users["outsider"].pk}
    response = post_json(api("manager"), members_url(project), body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert not ProjectMember.objects.exists()


def test_a_deactivated_member_cannot_be_added_and_is_not_listed(api, cast, project):
    add(api, project, cast.users["annotator"])
    org_member = f"/api/organizations/{cast.org.pk}/memberships/{cast.users['annotator'].pk}/"
    assert api("admin").delete(org_member).status_code == 204
    assert api("manager").get(members_url(project)).json() == []
    response = post_json(api("manager"), members_url(project), {"user": cast.users["annotator"].pk})
    assert response.status_code == 400


def test_adding_twice_is_harmless_and_every_change_is_audited(api, cast, project):
    user = cast.users["annotator"]
    assert post_json(api("manager"), members_url(project), {"user": user.pk}).status_code == 201
    assert post_json(api("manager"), members_url(project), {"user": user.pk}).status_code == 200
    assert api("manager").delete(f"{members_url(project)}{user.pk}/").status_code == 204
    assert api("manager").delete(f"{members_url(project)}{user.pk}/").status_code == 404
    actions = list(
        AuditEvent.objects.filter(action__startswith="project.member").values_list("action", flat=True)
    )
    assert actions == ["project.member_add", "project.member_remove"]


def test_the_members_only_switch_is_in_the_project_api_and_audited(api, make_project):
    project = make_project()
    assert api("manager").get(f"/api/projects/{project.pk}/").json()["members_only"] is False
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {"members_only": True})
    assert response.json()["members_only"] is True
    event = AuditEvent.objects.filter(action="project.update").latest("pk")
    assert event.details["members_only"] is True
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {"members_only": "yes"})
    assert (response.status_code, response.json()["error"]["field"]) == (400, "members_only")
    created = post_json(api("manager"), "/api/projects/", {"title": "Closed", "members_only": True}).json()
    assert Project.objects.get(pk=created["id"]).members_only is True


# ---- what a members-only project serves ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["reviewer", "annotator"])
def test_non_members_get_403_from_next_submit_and_skip(api, cast, project, role):
    client = api(role)
    task = project.tasks.order_by("inner_id").first()
    for response in (
        client.post(f"/api/projects/{project.pk}/next"),
        client.get(f"/api/projects/{project.pk}/next"),
        post_json(client, f"/api/tasks/{task.pk}/annotations/", {"result": choice("Positive")}),
        post_json(client, f"/api/tasks/{task.pk}/skip/", {"reason": "no"}),
        client.get(f"/api/labeling/projects/{project.pk}/"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_a_project_member"
    assert not Annotation.objects.exists()


def test_members_label_and_managers_always_may(api, cast, project):
    add(api, project, cast.users["annotator"])
    for role in ("annotator", "manager", "owner"):
        task = api(role).post(f"/api/projects/{project.pk}/next").json()
        response = post_json(
            api(role), f"/api/tasks/{task['id']}/annotations/", {"result": choice("Neutral")}
        )
        assert response.status_code == 201, (role, response.content)


def test_turning_the_switch_off_opens_the_project_again(api, cast, project):
    assert api("annotator").post(f"/api/projects/{project.pk}/next").status_code == 403
    patch_json(api("manager"), f"/api/projects/{project.pk}/", {"members_only": False})
    assert api("annotator").post(f"/api/projects/{project.pk}/next").status_code == 200


def test_the_labeling_list_shows_members_only_projects_to_members_and_managers(
    api, cast, project, make_project
):
    open_project = make_project(title="Open")

    def listed(role: str) -> set[int]:
        return {row["id"] for row in api(role).get("/api/labeling/projects/").json()["results"]}

    assert listed("annotator") == listed("reviewer") == {open_project.pk}
    assert listed("manager") == {open_project.pk, project.pk}
    add(api, project, cast.users["annotator"])
    assert listed("annotator") == {open_project.pk, project.pk}
    assert listed("annotator2") == {open_project.pk}


# ---- cost ------------------------------------------------------------------------------------------------


def test_next_and_submit_of_a_member_cost_one_query_more_than_an_open_project(
    api, cast, project, django_assert_num_queries
):
    add(api, project, cast.users["annotator"])
    client = api("annotator")
    assert client.get(f"/api/projects/{project.pk}/").status_code == 200  # token's last_used_at stamped
    with django_assert_num_queries(NEXT_QUERIES + 1):
        task = client.get(f"/api/projects/{project.pk}/next").json()
    # One more for the membership, one for letting go of the lock /next took.
    with django_assert_num_queries(SUBMIT_QUERIES + 2):
        response = post_json(client, f"/api/tasks/{task['id']}/annotations/", {"result": choice("Neutral")})
    assert response.status_code == 201
    # A manager is not asked: no query more than an open project.
    manager = api("manager")
    assert manager.get(f"/api/projects/{project.pk}/").status_code == 200
    with django_assert_num_queries(NEXT_QUERIES):
        assert manager.get(f"/api/projects/{project.pk}/next").status_code == 200


def test_the_labeling_list_and_the_member_list_cost_the_same_for_any_number(
    api, cast, make_project, django_assert_max_num_queries
):
    projects = [make_project(title=f"P{i}", members_only=bool(i % 2)) for i in range(6)]
    for item in projects:
        for key in ("annotator", "annotator2", "reviewer"):
            ProjectMember.objects.create(project=item, user=cast.users[key])
    client = api("annotator")
    client.get("/api/labeling/projects/")
    with django_assert_max_num_queries(5):
        assert len(client.get("/api/labeling/projects/").json()["results"]) == 6
    manager = api("manager")
    manager.get(members_url(projects[0]))
    # token, membership, project, the members with their organization role
    with django_assert_max_num_queries(4):
        assert len(manager.get(members_url(projects[0])).json()) == 3
