"""Members of an organization through /api/organizations/{id}/memberships/: who may read and change them,
the rank rules, the last owner, and what deactivating does to a member's access and work."""

import pytest

from annotation.models import Annotation, TaskLock
from annotation.services.annotations import annotation_create
from tessera.models import AuditEvent, Membership, Role, User
from tessera.services import organization_get_or_create, user_upsert
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db

READERS = ["owner", "admin", "manager"]
CHANGERS = ["owner", "admin"]
EVERY_ROLE = ["owner", "admin", "manager", "reviewer", "annotator"]


def members_url(cast, org=None) -> str:
    return f"/api/organizations/{(org or cast.org).pk}/memberships/"


def member_url(cast, key: str) -> str:
    return f"{members_url(cast)}{cast.users[key].pk}/"


def membership(cast, key: str) -> Membership:
    return Membership.objects.get(organization=cast.org, user=cast.users[key])


@pytest.fixture
def stranger(db):
    """An account in no organization of the cast's, to add by e-mail."""
    org = organization_get_or_create(title="Elsewhere")
    user, _ = user_upsert(email="stranger@else.test", organization=org, role=Role.ANNOTATOR)
    return user


# ---- reading -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_managers_and_above_list_members(api, cast, role):
    response = api(role).get(members_url(cast))
    if role in READERS:
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 6
        first = body["results"][0]
        assert set(first) == {"user", "role", "is_active", "created_at"}
        assert set(first["user"]) == {"id", "username", "email", "first_name", "last_name", "avatar"}
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "role_too_low"


def test_another_organization_and_a_missing_one_answer_404(api, cast):
    for url in (members_url(cast, cast.other_org), "/api/organizations/999999/memberships/"):
        response = api("owner").get(url)
        assert response.status_code == 404
    assert api("outsider").get(members_url(cast)).status_code == 404
    assert patch_json(api("outsider"), member_url(cast, "annotator"), {"role": "reviewer"}).status_code == 404
    assert api("outsider").delete(member_url(cast, "annotator")).status_code == 404
    assert post_json(api("outsider"), members_url(cast), {"email": "owner@other.test"}).status_code == 404
    # A member of this organization that is not in the path's: 404 too, not a hint that it exists.
    assert (
        patch_json(
            api("owner"), f"{members_url(cast)}{cast.users['outsider'].pk}/", {"role": "reviewer"}
        ).status_code
        == 404
    )


def test_the_list_filters_by_role_and_searches_names_and_addresses(api, cast):
    User.objects.filter(pk=cast.users["reviewer"].pk).update(first_name="Hanako", last_name="Yamada")
    by_role = api("manager").get(f"{members_url(cast)}?role=annotator").json()
    assert {row["user"]["email"] for row in by_role["results"]} == {
        "annotator@acme.test",
        "annotator2@acme.test",
    }
    by_name = api("manager").get(f"{members_url(cast)}?search=yamada").json()
    assert [row["user"]["email"] for row in by_name["results"]] == ["reviewer@acme.test"]
    by_email = api("manager").get(f"{members_url(cast)}?search=ADMIN@acme").json()
    assert [row["role"] for row in by_email["results"]] == ["admin"]
    paged = api("manager").get(f"{members_url(cast)}?page=2&page_size=4").json()
    assert (paged["count"], paged["previous"], paged["next"], len(paged["results"])) == (6, 1, None, 2)


@pytest.mark.parametrize(
    ("query", "field"),
    [("role=boss", "role"), ("include_inactive=maybe", "include_inactive"), ("page_size=0", "page_size"),
     ("search=" + "x" * 201, "search"), ("search=a%00b", "search")],
)  # fmt: skip
def test_bad_filters_answer_400_naming_the_parameter(api, cast, query, field):
    response = api("manager").get(f"{members_url(cast)}?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_the_list_costs_the_same_queries_for_five_members_or_fifty(api, cast, django_assert_max_num_queries):
    client = api("manager")
    with django_assert_max_num_queries(6):
        assert client.get(members_url(cast)).status_code == 200
    for index in range(45):
        user_upsert(email=f"extra{index}@acme.test", organization=cast.org, role=Role.ANNOTATOR)
    with django_assert_max_num_queries(6):
        body = client.get(members_url(cast)).json()
    assert len(body["results"]) == 51


# ---- adding and reactivating ------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_admins_and_above_add_members(api, cast, stranger, role):
    response = post_json(api(role), members_url(cast), {"email": "Stranger@ELSE.test", "role": "annotator"})
    if role in CHANGERS:
        assert response.status_code == 201
        assert response.json()["user"]["id"] == stranger.pk
        assert Membership.objects.get(organization=cast.org, user=stranger).role == "annotator"
        event = AuditEvent.objects.get(action="membership.add")
        assert (event.actor, event.details["role"]) == (cast.users[role], "annotator")
    else:
        assert response.status_code == 403
        assert not Membership.objects.filter(organization=cast.org, user=stranger).exists()


def test_an_unknown_address_answers_400_suggesting_an_invitation(api, cast):
    response = post_json(api("admin"), members_url(cast), {"email": "nobody@acme.test"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("email", "unknown_user")
    assert "invitation" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "x"}, "email"), ({"email": 5}, "email"), ({}, "email"), ({"email": "a@b.test", "role": "boss"}, "role"),
     ({"email": "a@b.test", "role": ["admin"]}, "role"), ({"email": "a@b.test", "extra": 1}, "extra")],
)  # fmt: skip
def test_bad_bodies_answer_400_naming_the_field(api, cast, body, field):
    before = Membership.objects.count()
    response = post_json(api("admin"), members_url(cast), body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert Membership.objects.count() == before


def test_adding_a_member_twice_is_a_conflict(api, cast):
    response = post_json(api("admin"), members_url(cast), {"email": "annotator@acme.test"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_member"


def test_nobody_grants_a_role_above_their_own(api, cast, stranger):
    response = post_json(api("admin"), members_url(cast), {"email": stranger.email, "role": "owner"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_above_own"
    assert not Membership.objects.filter(user=stranger, organization=cast.org).exists()
    response = patch_json(api("admin"), member_url(cast, "annotator"), {"role": "owner"})
    assert response.status_code == 403
    assert membership(cast, "annotator").role == "annotator"


def test_a_user_with_no_organization_gets_the_new_one_as_active(api, cast, stranger):
    User.objects.filter(pk=stranger.pk).update(active_organization=None)
    post_json(api("admin"), members_url(cast), {"email": stranger.email})
    stranger.refresh_from_db()
    assert stranger.active_organization_id == cast.org.pk


# ---- changing roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_admins_and_above_change_roles(api, cast, role):
    response = patch_json(api(role), member_url(cast, "annotator2"), {"role": "reviewer"})
    assert response.status_code == (200 if role in CHANGERS else 403)
    assert membership(cast, "annotator2").role == ("reviewer" if role in CHANGERS else "annotator")


def test_a_role_change_is_audited_and_takes_effect_at_once(api, cast):
    assert api("annotator").get(members_url(cast)).status_code == 403
    response = patch_json(api("admin"), member_url(cast, "annotator"), {"role": "manager"})
    assert response.json()["role"] == "manager"
    assert api("annotator").get(members_url(cast)).status_code == 200
    event = AuditEvent.objects.get(action="membership.role_change")
    assert event.details == {"user": cast.users["annotator"].pk, "from": "annotator", "to": "manager"}


def test_nobody_changes_or_deactivates_a_member_above_them(api, cast):
    for url_key in ("owner",):
        response = patch_json(api("admin"), member_url(cast, url_key), {"role": "admin"})
        assert (response.status_code, response.json()["error"]["code"]) == (403, "member_above_own")
        response = api("admin").delete(member_url(cast, url_key))
        assert response.status_code == 403
    assert membership(cast, "owner").role == "owner" and membership(cast, "owner").is_active
    # An equal rank may be changed: an admin demotes another admin.
    user_upsert(email="admin2@acme.test", organization=cast.org, role=Role.ADMIN)
    other = User.objects.get(email="admin2@acme.test")
    response = patch_json(api("admin"), f"{members_url(cast)}{other.pk}/", {"role": "manager"})
    assert response.status_code == 200


def test_the_last_owner_can_be_neither_demoted_nor_deactivated(api, cast):
    response = patch_json(api("owner"), member_url(cast, "owner"), {"role": "admin"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "last_owner")
    response = api("owner").delete(member_url(cast, "owner"))
    assert (response.status_code, response.json()["error"]["code"]) == (409, "last_owner")
    assert membership(cast, "owner").role == "owner" and membership(cast, "owner").is_active
    # With a second owner, the first may step down.
    assert patch_json(api("owner"), member_url(cast, "admin"), {"role": "owner"}).status_code == 200
    assert patch_json(api("owner"), member_url(cast, "owner"), {"role": "admin"}).status_code == 200
    # And now the other is the last one.
    response = api("admin").delete(member_url(cast, "admin"))
    assert response.status_code == 409


@pytest.mark.parametrize(("body", "field"), [({}, "role"), ({"role": "boss"}, "role"), ({"role": None}, "role"),
                                              ({"role": "admin", "is_active": False}, "is_active")])  # fmt: skip
def test_a_bad_role_change_answers_400(api, cast, body, field):
    response = patch_json(api("owner"), member_url(cast, "annotator"), body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


# ---- deactivating --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_admins_and_above_deactivate(api, cast, role):
    response = api(role).delete(member_url(cast, "annotator2"))
    assert response.status_code == (204 if role in CHANGERS else 403)
    assert membership(cast, "annotator2").is_active is (role not in CHANGERS)


def test_deactivating_keeps_the_work_and_stops_the_access(api, cast, make_project):
    project = make_project(tasks=[{"text": "one"}, {"text": "two"}])
    first, second = project.tasks.order_by("inner_id")
    annotator = cast.users["annotator"]
    annotation_create(task=first, user=annotator, result=choice("Positive"))
    client = api("annotator")
    assert client.post(f"/api/projects/{project.pk}/next").status_code == 200
    assert TaskLock.objects.filter(user=annotator).exists()

    assert api("admin").delete(member_url(cast, "annotator")).status_code == 204

    row = membership(cast, "annotator")
    assert row.is_active is False and row.role == "annotator"
    assert Annotation.objects.filter(completed_by=annotator).count() == 1
    assert not TaskLock.objects.filter(user=annotator).exists()  # the held task is free for others
    annotator.refresh_from_db()
    assert annotator.active_organization_id is None
    # Their token still authenticates, but reaches nothing of the organization.
    for response in (
        client.get(f"/api/projects/{project.pk}/"),
        client.post(f"/api/projects/{project.pk}/next"),
        client.get(f"/api/tasks/{second.pk}/"),
        client.get("/api/labeling/projects/"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "no_organization"
    assert client.get("/api/organizations/").json() == []
    switch = post_json(client, "/api/organizations/switch", {"organization": cast.org.pk})
    assert switch.status_code == 404
    assert AuditEvent.objects.filter(action="membership.deactivate", object_id=row.pk).count() == 1
    # Listed only when asked for, as inactive.
    listed = api("admin").get(f"{members_url(cast)}?include_inactive=true").json()["results"]
    assert {"email": annotator.email, "is_active": False} in [
        {"email": r["user"]["email"], "is_active": r["is_active"]} for r in listed
    ]
    assert annotator.email not in [
        r["user"]["email"] for r in api("admin").get(members_url(cast)).json()["results"]
    ]


def test_a_deactivated_member_moves_to_another_active_organization(api, cast):
    other = organization_get_or_create(title="Second home")
    user_upsert(email="annotator@acme.test", organization=other, role=Role.REVIEWER)
    assert api("admin").delete(member_url(cast, "annotator")).status_code == 204
    annotator = User.objects.get(pk=cast.users["annotator"].pk)
    assert annotator.active_organization_id == other.pk
    whoami = api("annotator").get("/api/current-user/whoami").json()
    assert (whoami["active_organization"], whoami["role"]) == (other.pk, "reviewer")


def test_reactivating_restores_access_with_the_role_sent(api, cast, make_project):
    project = make_project()
    assert api("admin").delete(member_url(cast, "annotator")).status_code == 204
    response = post_json(
        api("admin"), members_url(cast), {"email": "annotator@acme.test", "role": "reviewer"}
    )
    assert response.status_code == 200
    assert response.json()["is_active"] is True and response.json()["role"] == "reviewer"
    assert api("annotator").get(f"/api/projects/{project.pk}/").status_code == 200
    assert AuditEvent.objects.filter(action="membership.reactivate").count() == 1


def test_deactivating_twice_changes_nothing_more(api, cast):
    assert api("admin").delete(member_url(cast, "annotator")).status_code == 204
    assert api("admin").delete(member_url(cast, "annotator")).status_code == 204
    assert AuditEvent.objects.filter(action="membership.deactivate").count() == 1
