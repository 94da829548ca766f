"""API token authentication as Label Studio and its SDK send it: ``Authorization: Token <key>``."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from tessera.models import ApiToken
from tessera.selectors import auth_keys, auth_throttle_wait, client_address
from tessera.services import auth_failure_record, auth_throttled_record

# Writing last_used_at on every request would turn each read into a write; a
# coarse timestamp is all that token hygiene needs.
LAST_USED_RESOLUTION = timedelta(minutes=10)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        # Guessing keys is throttled per client address before anything else is looked at; a key does
        # not name its account until it matches, so only a matched but unusable key counts for one.
        address = client_address(request._request)
        wait = auth_throttle_wait(address=address)
        if wait is not None:
            auth_throttled_record(via="token", address=address, retry_after=wait)
            raise exceptions.Throttled(wait=wait, detail="Too many failed token checks; try again later.")
        if len(header) != 2:
            self._failed(address)
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            self._failed(address)
            raise exceptions.AuthenticationFailed("Invalid token header: the key is not text.") from exc
        token = (
            ApiToken.objects.select_related("user", "user__active_organization")
            .filter(digest=ApiToken.digest_of(key))
            .first()
        )
        now = timezone.now()
        if token is None:
            self._failed(address)
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.user.is_active:
            self._failed(address, user=token.user)
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.expires_at is not None and token.expires_at <= now:
            self._failed(address, user=token.user)
            raise exceptions.AuthenticationFailed("The token has expired.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    @staticmethod
    def _failed(address: str, user=None) -> None:
        auth_failure_record(
            keys=auth_keys(address=address),
            via="token",
            address=address,
            account=user.email if user is not None else "",
            user=user,
        )

    def authenticate_header(self, request):
        return "Token"
