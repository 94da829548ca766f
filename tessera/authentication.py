"""API token authentication as Label Studio and its SDK send it: ``Authorization: Token <key>``."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from tessera.models import ApiToken

# Writing last_used_at on every request would turn each read into a write; a
# coarse timestamp is all that token hygiene needs.
LAST_USED_RESOLUTION = timedelta(minutes=10)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header: the key is not text.") from exc
        token = (
            ApiToken.objects.select_related("user", "user__active_organization")
            .filter(digest=ApiToken.digest_of(key))
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return "Token"
