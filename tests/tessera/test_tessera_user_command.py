"""The ``tessera_user`` management command: create or update a member and print a working token."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tessera.models import ApiToken, AuditEvent, Membership, Organization, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("tessera_user", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_creates_user_organization_and_role():
    out, err = run("ml@bank.test", "--org", "Bank", "--role", "manager")
    user = User.objects.get(email="ml@bank.test")
    organization = Organization.objects.get(title="Bank")
    assert Membership.objects.get(user=user, organization=organization).role == "manager"
    assert user.active_organization == organization
    assert not user.has_usable_password()
    assert out == ""
    assert "Created ml@bank.test as manager of Bank" in err


def test_command_prints_a_token_that_works():
    out, _ = run("ml@bank.test", "--org", "Bank", "--role", "owner", "--token")
    key = out.strip()
    assert len(key) == 40
    assert ApiToken.objects.filter(digest=ApiToken.digest_of(key)).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/current-user/whoami")
    assert response.status_code == 200
    assert response.json()["role"] == "owner"


def test_command_run_again_updates_the_role_without_a_second_user():
    run("ml@bank.test", "--org", "Bank", "--role", "annotator")
    _, err = run("ML@bank.test", "--org", "Bank", "--role", "reviewer", "--password", "correct horse 42")
    assert User.objects.filter(email__iexact="ml@bank.test").count() == 1
    user = User.objects.get(email__iexact="ml@bank.test")
    assert Membership.objects.get(user=user).role == "reviewer"
    assert user.check_password("correct horse 42")
    assert "Updated" in err
    assert AuditEvent.objects.filter(action="user.update", object_id=user.pk).exists()


def test_command_adds_a_second_organization_without_changing_the_active_one():
    run("ml@bank.test", "--org", "Bank", "--role", "manager")
    run("ml@bank.test", "--org", "Insurer", "--role", "annotator")
    user = User.objects.get(email="ml@bank.test")
    assert user.active_organization.title == "Bank"
    assert sorted(user.memberships.values_list("organization__title", "role")) == [
        ("Bank", "manager"), ("Insurer", "annotator"),
    ]  # fmt: skip


def test_command_refuses_an_unknown_role_cleanly():
    with pytest.raises(CommandError, match="role"):
        run("ml@bank.test", "--org", "Bank", "--role", "superuser")
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["not-an-email", "   ", "nobody@", "@bank.test"])
def test_command_refuses_a_bad_email_cleanly(email):
    with pytest.raises(CommandError, match="e-mail"):
        run(email, "--org", "Bank", "--role", "manager")
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_command_refuses_an_empty_organization_name_cleanly():
    with pytest.raises(CommandError, match="Organization name"):
        run("ml@bank.test", "--org", "  ", "--role", "manager")
    assert not User.objects.exists()


def test_command_refuses_an_organization_name_too_long_cleanly():
    with pytest.raises(CommandError, match="Organization name"):
        run("ml@bank.test", "--org", "B" * 201, "--role", "manager")
    assert not Organization.objects.exists()


def test_command_refuses_an_email_too_long_cleanly():
    with pytest.raises(CommandError, match="e-mail"):
        run(("x" * 150) + "@bank.test", "--org", "Bank", "--role", "manager")
    assert not User.objects.exists()
