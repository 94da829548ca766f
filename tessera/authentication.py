"""API token authentication as Label Studio and its SDK send it: ``Authorization: Token <key>``."""

from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.db.models import Subquery
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tessera.models import ApiToken, AuthFailureCount, User
from tessera.selectors import auth_failure_window, auth_keys, auth_throttle_wait, client_address
from tessera.services import auth_failure_record, auth_throttled_record

# Writing last_used_at on every request would turn each read into a write; a
# coarse timestamp is all that token hygiene needs.
LAST_USED_RESOLUTION = timedelta(minutes=10)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        # Guessing keys is throttled per client address: a key does not name its account until it
        # matches. The address's failure count comes in the token's own query, so a good request
        # costs no extra query; a key that matches nothing asks for the count on its own.
        address = client_address(request._request)
        if len(header) != 2:
            self._refuse(address, "Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError:
            self._refuse(address, "Invalid token header: the key is not text.")
        window, remaining = auth_failure_window()
        token = (
            ApiToken.objects.select_related("user", "user__active_organization")
            .annotate(
                address_failures=Subquery(
                    AuthFailureCount.objects.filter(key=auth_keys(address=address)[0], window=window).values(
                        "failures"
                    )[:1]
                )
            )
            .filter(digest=ApiToken.digest_of(key))
            .first()
        )
        if token is None:
            self._refuse(address, "Invalid token.")
        if (token.address_failures or 0) >= settings.TESSERA_AUTH_FAILURES_PER_ADDRESS:
            self._throttled(address, remaining)
        now = timezone.now()
        if not token.user.is_active:
            self._refuse(address, "Invalid token.", user=token.user)
        if token.expires_at is not None and token.expires_at <= now:
            self._refuse(address, "The token has expired.", user=token.user)
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    @staticmethod
    def _throttled(address: str, wait: int) -> NoReturn:
        auth_throttled_record(via="token", address=address, retry_after=wait)
        raise exceptions.Throttled(wait=wait, detail="Too many failed token checks; try again later.")

    def _refuse(self, address: str, message: str, user: User | None = None) -> NoReturn:
        """401, counted against the address; 429 instead once the address has used up its failures."""
        wait = auth_throttle_wait(address=address)
        if wait is not None:
            self._throttled(address, wait)
        auth_failure_record(
            keys=auth_keys(address=address),
            via="token",
            address=address,
            account=user.email if user is not None else "",
            user=user,
        )
        raise exceptions.AuthenticationFailed(message)

    def authenticate_header(self, request: Request) -> str:
        return "Token"
