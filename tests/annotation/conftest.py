import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The cast sets passwords; Django's default hasher costs ~0.2 s a user, MD5 keeps setup instant."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
