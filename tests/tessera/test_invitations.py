"""Invitations: made and revoked by managers and above through the API (for roles up to their own), sent by e-mail, accepted once through the
/invite/<token>/ page by a new person (who makes their account there) or by an existing account."""

import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from tessera.errors import ApplicationError
from tessera.invitations import invitation_accept_existing, invitation_accept_new_user, invitation_create
from tessera.models import ApiToken, AuditEvent, Invitation, Membership, Role, User
from tessera.services import organization_get_or_create, user_upsert
from tests.conftest import patch_json, post_json

pytestmark = pytest.mark.django_db

EVERY_ROLE = ["owner", "admin", "manager", "reviewer", "annotator"]
NEW_PERSON = {"first_name": "Hanako", "last_name": "Yamada", "password": "a long passphrase 7",
              "password2": "a long passphrase 7"}  # fmt: skip


def invites_url(cast, org=None) -> str:
    return f"/api/organizations/{(org or cast.org).pk}/invites/"


def invite(api, cast, email="new@acme.test", role="annotator", **extra) -> dict:
    response = post_json(api("admin"), invites_url(cast), {"email": email, "role": role, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def path_of(url: str) -> str:
    return url.split("testserver", 1)[1]


# ---- the API -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_managers_and_above_invite(api, cast, role):
    response = post_json(api(role), invites_url(cast), {"email": "new@acme.test", "send_email": False})
    assert response.status_code == (201 if role in ("owner", "admin", "manager") else 403)
    assert Invitation.objects.count() == (1 if role in ("owner", "admin", "manager") else 0)
    if response.status_code == 403:
        assert response.json()["error"]["code"] == "role_too_low"


@pytest.mark.parametrize(("role", "allowed"), [("annotator", True), ("reviewer", True), ("manager", True),
                                               ("admin", False), ("owner", False)])  # fmt: skip
def test_a_manager_invites_for_roles_up_to_their_own(api, cast, role, allowed):
    response = post_json(
        api("manager"), invites_url(cast), {"email": "new@acme.test", "role": role, "send_email": False}
    )
    if allowed:
        assert response.status_code == 201, response.content
        assert response.json()["invited_by"]["email"] == "manager@acme.test"
    else:
        assert (response.status_code, response.json()["error"]["code"]) == (403, "role_above_own")
        assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_managers_and_above_list_pending_invitations_without_their_links(api, cast, role):
    made = invite(api, cast, send_email=False)
    response = api(role).get(invites_url(cast))
    assert response.status_code == (200 if role in ("owner", "admin", "manager") else 403)
    if response.status_code == 200:
        (row,) = response.json()["results"]
        assert row["id"] == made["id"] and row["state"] == "pending"
        assert "url" not in row and made["url"].rsplit("/", 2)[-2] not in response.content.decode()


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_only_managers_and_above_revoke(api, cast, role):
    made = invite(api, cast, send_email=False)
    response = api(role).delete(f"{invites_url(cast)}{made['id']}/")
    assert response.status_code == (204 if role in ("owner", "admin", "manager") else 403)


def test_a_manager_may_not_revoke_an_invitation_above_their_own_role(api, cast):
    made = invite(api, cast, role="admin", send_email=False)
    response = api("manager").delete(f"{invites_url(cast)}{made['id']}/")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "role_above_own")
    assert Invitation.objects.get().revoked_at is None
    assert api("admin").delete(f"{invites_url(cast)}{made['id']}/").status_code == 204


def test_a_manager_may_not_replace_a_pending_invitation_above_their_own_role(api, cast):
    made = invite(api, cast, email="boss@acme.test", role="admin", send_email=False)
    response = post_json(api("manager"), invites_url(cast), {"email": "Boss@acme.test", "send_email": False})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "invitation_above_own")
    assert response.json()["error"]["field"] == "email"
    assert list(Invitation.objects.values_list("id", "revoked_at")) == [(made["id"], None)]


def test_a_manager_still_may_not_add_change_or_deactivate_members(api, cast):
    members = f"/api/organizations/{cast.org.pk}/memberships/"
    annotator = cast.users["annotator"].pk
    assert post_json(api("manager"), members, {"email": "owner@other.test"}).status_code == 403
    assert patch_json(api("manager"), f"{members}{annotator}/", {"role": "reviewer"}).status_code == 403
    assert api("manager").delete(f"{members}{annotator}/").status_code == 403


def test_invitations_of_another_organization_answer_404(api, cast):
    made = invite(api, cast, send_email=False)
    outsider = api("outsider")
    assert outsider.get(invites_url(cast)).status_code == 404
    assert post_json(outsider, invites_url(cast), {"email": "x@other.test"}).status_code == 404
    assert outsider.delete(f"{invites_url(cast)}{made['id']}/").status_code == 404
    # The outsider's own organization does not hold it either.
    assert outsider.delete(f"{invites_url(cast, cast.other_org)}{made['id']}/").status_code == 404
    assert Invitation.objects.get().revoked_at is None


def test_the_link_is_shown_once_and_only_its_digest_is_stored(api, cast, settings):
    settings.TESSERA_INVITE_TTL_HOURS = 48
    made = invite(api, cast, role="reviewer", send_email=False)
    assert made["url"].startswith("http://testserver/invite/")
    token = made["url"].rstrip("/").rsplit("/", 1)[1]
    stored = Invitation.objects.get()
    assert stored.digest == Invitation.digest_of(token) and token not in stored.digest
    assert timedelta(hours=47) < stored.expires_at - timezone.now() <= timedelta(hours=48)
    assert (made["role"], made["invited_by"]["email"], made["email_sent"]) == (
        "reviewer",
        "admin@acme.test",
        False,
    )
    event = AuditEvent.objects.get(action="invitation.create")
    assert token not in str(event.details)


def test_the_link_uses_the_public_url_when_set(api, cast, settings):
    settings.TESSERA_PUBLIC_URL = "https://label.example.com"
    made = invite(api, cast, send_email=False)
    assert made["url"].startswith("https://label.example.com/invite/")


def test_the_invitation_goes_out_by_e_mail(api, cast):
    made = invite(api, cast, email="New@Acme.test")
    assert made["email_sent"] is True
    (message,) = mail.outbox
    assert message.to == ["New@acme.test"]
    assert "Acme Finance" in message.subject
    assert made["url"] in message.body


def test_nobody_invites_above_their_own_role(api, cast):
    response = post_json(api("admin"), invites_url(cast), {"email": "boss@acme.test", "role": "owner"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "role_above_own")
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"email": "not an address"}, "email"), ({}, "email"), ({"email": "a@b.test", "role": "boss"}, "role"),
     ({"email": "a@b.test", "send_email": "yes"}, "send_email"), ({"email": "a@b.test", "url": "x"}, "url")],
)  # fmt: skip
def test_bad_invitations_answer_400_naming_the_field(api, cast, body, field):
    response = post_json(api("admin"), invites_url(cast), body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
    assert not Invitation.objects.exists() and not mail.outbox


def test_inviting_an_active_member_is_a_conflict(api, cast):
    response = post_json(api("admin"), invites_url(cast), {"email": "annotator@acme.test"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "already_member")


def test_a_new_invitation_to_the_same_address_replaces_the_pending_one(api, cast):
    first = invite(api, cast, send_email=False)
    second = invite(api, cast, role="reviewer", send_email=False)
    pending = api("admin").get(invites_url(cast)).json()["results"]
    assert [row["id"] for row in pending] == [second["id"]]
    assert Client().get(path_of(first["url"])).status_code == 410
    everything = api("admin").get(f"{invites_url(cast)}?state=all").json()["results"]
    assert {row["state"] for row in everything} == {"pending", "revoked"}


def test_revoking_closes_the_link(api, cast):
    made = invite(api, cast, send_email=False)
    assert api("admin").delete(f"{invites_url(cast)}{made['id']}/").status_code == 204
    response = api("admin").delete(f"{invites_url(cast)}{made['id']}/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_pending")
    page = Client().get(path_of(made["url"]))
    assert page.status_code == 410
    assert b"withdrawn" in page.content
    assert AuditEvent.objects.filter(action="invitation.revoke").count() == 1


# ---- accepting: a new person ---------------------------------------------------------------------------


def test_a_new_person_makes_their_account_joins_and_is_signed_in(api, cast):
    made = invite(api, cast, email="hanako@acme.test", role="annotator")
    browser = Client()
    page = browser.get(path_of(made["url"]))
    assert page.status_code == 200
    assert b"Acme Finance" in page.content and b"hanako@acme.test" in page.content
    response = browser.post(path_of(made["url"]), NEW_PERSON)
    assert response.status_code == 302 and response["Location"] == "/projects/"
    user = User.objects.get(email="hanako@acme.test")
    assert (user.first_name, user.last_name, user.active_organization_id) == ("Hanako", "Yamada", cast.org.pk)
    assert user.check_password(NEW_PERSON["password"])
    assert Membership.objects.get(user=user, organization=cast.org).role == "annotator"
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user and invitation.accepted_at is not None
    assert browser.get("/api/current-user/whoami").json()["email"] == "hanako@acme.test"
    assert AuditEvent.objects.filter(action="invitation.accept", actor=user).count() == 1
    # The link worked once.
    again = Client().get(path_of(made["url"]))
    assert again.status_code == 410 and b"already used" in again.content


@pytest.mark.parametrize(
    ("form", "field_text"),
    [({**NEW_PERSON, "password": "short", "password2": "short"}, b"too short"),
     ({**NEW_PERSON, "password2": "something else 8"}, b"differ"),
     ({**NEW_PERSON, "first_name": " "}, b"Enter your name"),
     ({**NEW_PERSON, "first_name": "x" * 151}, b"at most 150")],
)  # fmt: skip
def test_a_bad_sign_up_form_creates_nothing_and_says_why(api, cast, form, field_text):
    made = invite(api, cast, send_email=False)
    response = Client().post(path_of(made["url"]), form)
    assert response.status_code == 400
    assert field_text in response.content
    assert not User.objects.filter(email="new@acme.test").exists()
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.parametrize("state", ["expired", "accepted", "revoked"])
def test_closed_links_show_a_clear_page_and_create_nothing(api, cast, state):
    made = invite(api, cast, send_email=False)
    now = timezone.now()
    field = {"expired": "expires_at", "accepted": "accepted_at", "revoked": "revoked_at"}[state]
    Invitation.objects.update(**{field: now - timedelta(seconds=1) if state == "expired" else now})
    users = User.objects.count()
    for response in (Client().get(path_of(made["url"])), Client().post(path_of(made["url"]), NEW_PERSON)):
        assert response.status_code == 410
        assert b"This invitation" in response.content
    assert User.objects.count() == users
    assert not Membership.objects.filter(user__email="new@acme.test").exists()


def test_an_unknown_link_is_404_and_creates_nothing(cast):
    users = User.objects.count()
    for response in (Client().get("/invite/not-a-real-token/"), Client().post("/invite/x/", NEW_PERSON)):
        assert response.status_code == 404
        assert b"not valid" in response.content
    assert Client().get("/invite/bad%20chars/").status_code == 404
    assert User.objects.count() == users


def test_the_accept_page_runs_under_the_strict_csp_with_no_inline_script(api, cast):
    made = invite(api, cast, send_email=False)
    page = Client().get(path_of(made["url"]))
    policy = page["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert b"<script>" not in page.content and b"style=" not in page.content
    assert not re.search(rb"\son[a-z]+=", page.content)


# ---- accepting: an existing account --------------------------------------------------------------------


@pytest.fixture
def existing(db):
    org = organization_get_or_create(title="Elsewhere")
    user, _ = user_upsert(
        email="known@else.test", organization=org, role=Role.OWNER, password="known pass 42"
    )
    return user


def test_an_existing_account_is_asked_to_sign_in_and_then_joins(api, cast, existing):
    made = invite(api, cast, email="known@else.test", role="reviewer", send_email=False)
    browser = Client()
    page = browser.get(path_of(made["url"]))
    assert page.status_code == 200 and b"Sign in" in page.content
    # A form sent without signing in creates nothing.
    assert browser.post(path_of(made["url"]), NEW_PERSON).status_code == 403
    assert not Membership.objects.filter(user=existing, organization=cast.org).exists()
    browser.force_login(existing)
    page = browser.get(path_of(made["url"]))
    assert b"Join Acme Finance" in page.content
    response = browser.post(path_of(made["url"]))
    assert response.status_code == 302
    assert Membership.objects.get(user=existing, organization=cast.org).role == "reviewer"
    existing.refresh_from_db()
    assert existing.active_organization_id == cast.org.pk
    assert existing.check_password("known pass 42")  # nothing about the account changed


def test_signed_in_as_another_account_the_page_says_so_and_joins_nobody(api, cast, existing):
    made = invite(api, cast, email="known@else.test", send_email=False)
    browser = Client()
    browser.force_login(cast.users["annotator2"])
    page = browser.get(path_of(made["url"]))
    assert b"you are signed in as annotator2@acme.test" in page.content
    assert browser.post(path_of(made["url"])).status_code == 403
    assert Invitation.objects.get().accepted_at is None


def test_a_deactivated_member_comes_back_through_an_invitation(api, cast):
    assert (
        api("admin")
        .delete(f"/api/organizations/{cast.org.pk}/memberships/{cast.users['annotator'].pk}/")
        .status_code
        == 204
    )
    made = invite(api, cast, email="annotator@acme.test", role="reviewer", send_email=False)
    browser = Client()
    browser.force_login(cast.users["annotator"])
    assert browser.post(path_of(made["url"])).status_code == 302
    row = Membership.objects.get(user=cast.users["annotator"], organization=cast.org)
    assert (row.is_active, row.role) == (True, "reviewer")
    assert api("annotator").get("/api/labeling/projects/").status_code == 200


def test_accepting_never_demotes_a_member(cast):
    owner = Membership.objects.get(user=cast.users["owner"], organization=cast.org)
    other_owner = Membership.objects.get(user=cast.users["outsider"], organization=cast.other_org)
    invitation, token = invitation_create(actor=other_owner, email="owner@acme.test", role=Role.ANNOTATOR)
    invitation_accept_existing(token=token, user=cast.users["owner"])
    assert Membership.objects.get(user=cast.users["owner"], organization=cast.other_org).role == "annotator"
    owner.refresh_from_db()
    assert owner.role == "owner"


# ---- single use under a race ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_one_wins_and_the_other_creates_nothing(cast):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's concurrent transactions")
    admin = Membership.objects.get(user=cast.users["admin"], organization=cast.org)
    for round_number in range(5):
        email = f"race{round_number}@acme.test"
        _invitation, token = invitation_create(actor=admin, email=email)
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def accept(
            name: str,
            barrier: threading.Barrier = barrier,
            token: str = token,
            outcomes: list[str] = outcomes,
        ) -> None:
            try:
                barrier.wait()
                invitation_accept_new_user(
                    token=token, first_name=name, last_name="", password="a long passphrase 7"
                )
                outcomes.append("accepted")
            except ApplicationError as error:
                outcomes.append(f"{error.status} {error.code}")
            finally:
                connection.close()

        threads = [threading.Thread(target=accept, args=(name,)) for name in ("First", "Second")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["410 accepted", "accepted"]
        assert User.objects.filter(email=email).count() == 1
        assert Membership.objects.filter(user__email=email).count() == 1
        assert AuditEvent.objects.filter(action="invitation.accept", details__email=email).count() == 1
    assert not ApiToken.objects.filter(user__email__startswith="race").exists()
