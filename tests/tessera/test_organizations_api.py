"""The caller's organizations and switching between them."""

import pytest

from tessera.models import AuditEvent, Role
from tessera.services import user_upsert
from tests.conftest import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_of_both(cast):
    """The Acme manager, also an annotator of Other Org."""
    user, _ = user_upsert(email="manager@acme.test", organization=cast.other_org, role=Role.ANNOTATOR)
    return user


def test_organization_list_shows_each_membership_with_role_and_active_flag(api, cast, member_of_both):
    response = api("manager").get("/api/organizations")
    assert response.status_code == 200
    assert response.json() == [
        {"id": cast.org.pk, "title": "Acme Finance", "role": "manager", "active": True},
        {"id": cast.other_org.pk, "title": "Other Org", "role": "annotator", "active": False},
    ]


def test_switching_organization_changes_what_the_api_shows(api, cast, member_of_both, make_project):
    make_project(org=cast.other_org)
    client = api("manager")
    assert client.get("/api/projects/").json()["count"] == 0
    response = post_json(client, "/api/organizations/switch", {"organization": cast.other_org.pk})
    assert response.status_code == 200
    assert response.json()["active_organization"] == cast.other_org.pk
    assert response.json()["role"] == "annotator"
    assert client.get("/api/projects/").json()["count"] == 1
    member_of_both.refresh_from_db()
    assert member_of_both.active_organization_id == cast.other_org.pk


def test_switching_organization_is_audited(api, cast, member_of_both):
    post_json(api("manager"), "/api/organizations/switch", {"organization": cast.other_org.pk})
    event = AuditEvent.objects.get(action="organization.switch")
    assert event.actor == member_of_both
    assert event.organization_id == cast.other_org.pk


def test_switching_to_an_organization_you_are_not_in_answers_404(api, cast):
    response = post_json(api("annotator"), "/api/organizations/switch", {"organization": cast.other_org.pk})
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "organization"
    cast.users["annotator"].refresh_from_db()
    assert cast.users["annotator"].active_organization_id == cast.org.pk


@pytest.mark.parametrize("value", [None, "abc", [1], {"id": 1}, True, 1.5])
def test_switching_with_a_bad_organization_id_answers_400_naming_the_field(api, cast, value):
    response = post_json(api("annotator"), "/api/organizations/switch", {"organization": value})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "organization"
    cast.users["annotator"].refresh_from_db()
    assert cast.users["annotator"].active_organization_id == cast.org.pk


def test_switching_with_a_body_that_is_not_an_object_answers_400(api):
    response = post_json(api("annotator"), "/api/organizations/switch", [1])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


def test_a_member_of_two_organizations_reaches_only_the_active_ones_objects(
    api, cast, member_of_both, make_project
):
    theirs = make_project(org=cast.other_org)
    ours = make_project()
    client = api("manager")
    assert client.get(f"/api/projects/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/projects/{ours.pk}/").status_code == 200
    post_json(client, "/api/organizations/switch", {"organization": cast.other_org.pk})
    assert client.get(f"/api/projects/{theirs.pk}/").status_code == 200
    assert client.get(f"/api/projects/{ours.pk}/").status_code == 404
    # Their role there is annotator: the manager role of the first organization does not travel.
    assert client.delete(f"/api/projects/{theirs.pk}/").status_code == 403
