"""Failed sign-ins and token checks are throttled per account and per client address.

The throttle is asked before any password is hashed: past the limit an attempt costs no PBKDF2 run,
which is what kept 16 parallel bad sign-ins from holding every web worker.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from tessera.models import AuditEvent, AuthFailureCount

pytestmark = pytest.mark.django_db


class CountingHasher(MD5PasswordHasher):
    """Django's hasher, counting how many passwords it checks (PBKDF2 in production)."""

    algorithm = "md5"
    checks = 0

    def verify(self, password, encoded):
        CountingHasher.checks += 1
        return super().verify(password, encoded)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.PASSWORD_HASHERS = ["tests.tessera.test_auth_throttle.CountingHasher"]
    settings.TESSERA_AUTH_FAILURES_PER_ACCOUNT = 3
    settings.TESSERA_AUTH_FAILURES_PER_ADDRESS = 6
    # Windows are fixed; one this long has no boundary for a test to straddle.
    settings.TESSERA_AUTH_FAILURE_WINDOW_SECONDS = 10**9
    CountingHasher.checks = 0


def sign_in(email: str, password: str, address: str = "203.0.113.7"):
    return Client(REMOTE_ADDR=address).post("/login/", {"username": email, "password": password})


def test_sign_in_after_too_many_failures_for_an_account_answers_429_with_retry_after(cast):
    for _ in range(3):
        response = sign_in("annotator@acme.test", "wrong password")
        assert response.status_code == 200 and b"Wrong e-mail or password" in response.content
    checks_before = CountingHasher.checks
    response = sign_in("annotator@acme.test", "correct horse 42", address="198.51.100.9")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 10**9
    assert b"Too many failed sign-ins" in response.content
    # Refused before the password was looked at.
    assert CountingHasher.checks == checks_before


def test_throttled_and_failed_sign_ins_are_audited(cast):
    for _ in range(4):
        sign_in("Annotator@Acme.test", "wrong password")
    failed = AuditEvent.objects.filter(action="auth.login_failed")
    assert failed.count() == 3
    assert failed.first().details == {"account": "annotator@acme.test", "address": "203.0.113.7"}
    assert failed.first().object_id == cast.users["annotator"].pk
    throttled = AuditEvent.objects.get(action="auth.login_throttled")
    assert throttled.details["address"] == "203.0.113.7" and throttled.details["retry_after"] > 0


def test_one_address_guessing_many_accounts_is_throttled(cast):
    for index in range(6):
        assert sign_in(f"nobody{index}@acme.test", "guess").status_code == 200
    assert sign_in("owner@acme.test", "correct horse 42").status_code == 429
    # Another address is not held back by this one.
    assert sign_in("owner@acme.test", "correct horse 42", address="198.51.100.9").status_code == 302


def test_a_correct_sign_in_under_the_limit_still_works(cast):
    sign_in("manager@acme.test", "wrong password")
    assert sign_in("manager@acme.test", "correct horse 42").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_parallel_bad_sign_ins_hash_at_most_the_limit_of_passwords(cast):
    def attempt(_):
        try:
            return sign_in("reviewer@acme.test", "wrong password").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(attempt, range(16)))
    # Each attempt is counted under a row lock before its password is checked, so exactly the account's
    # limit of them reach the hasher, however many arrive at once.
    assert sorted(statuses) == [200] * 3 + [429] * 13
    assert CountingHasher.checks == 3
    assert AuthFailureCount.objects.get(key="account:reviewer@acme.test").failures == 16


def token_client(key: str, address: str = "203.0.113.7") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_token_guessing_from_one_address_answers_429_with_retry_after(cast):
    for index in range(6):
        response = token_client(f"{index:040x}").get("/api/projects/")
        assert response.status_code == 401
    response = token_client(cast.tokens["manager"]).get("/api/projects/")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    assert AuditEvent.objects.filter(action="auth.token_failed").count() == 6
    assert AuditEvent.objects.filter(action="auth.token_throttled").count() == 1
    # The same valid token from another address works.
    assert (
        token_client(cast.tokens["manager"], address="198.51.100.9").get("/api/projects/").status_code == 200
    )


def test_client_address_behind_a_proxy_is_the_one_the_proxy_saw(cast, settings):
    settings.TESSERA_NUM_PROXIES = 1
    for index in range(6):
        client = token_client(f"{index:040x}", address="10.0.0.2")
        client.get("/api/projects/", HTTP_X_FORWARDED_FOR=f"spoofed-{index}, 203.0.113.50")
    assert AuthFailureCount.objects.get(key="address:203.0.113.50").failures == 6
    blocked = token_client(cast.tokens["manager"], address="10.0.0.2")
    assert blocked.get("/api/projects/", HTTP_X_FORWARDED_FOR="203.0.113.50").status_code == 429
    # Another client behind the same proxy is not held back.
    assert blocked.get("/api/projects/", HTTP_X_FORWARDED_FOR="203.0.113.51").status_code == 200


def test_a_sign_in_with_control_characters_in_the_account_is_counted_not_a_500(cast):
    response = sign_in("annotator@acme.test\x00\x1b", "wrong password")
    assert response.status_code == 200
    assert AuthFailureCount.objects.filter(key="account:annotator@acme.test").exists()
    assert AuditEvent.objects.get(action="auth.login_failed").details["account"] == "annotator@acme.test"
