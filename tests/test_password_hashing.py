"""Every test hashes passwords with MD5 (tests/conftest.py): the cast sets seven passwords, and with
Django's default hasher that was over 2 s of setup a test in the suites that lacked the fixture."""

from django.contrib.auth.hashers import get_hasher


def test_tests_hash_passwords_with_the_fast_hasher():
    assert get_hasher().algorithm == "md5"
