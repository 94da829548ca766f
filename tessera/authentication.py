"""API token authentication as Label Studio and its SDK send it: ``Authorization: Token <key>``."""

from datetime import timedelta
from typing import NoReturn

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tessera import prepared
from tessera.models import ApiToken, AuthFailureCount, Membership, Organization, User
from tessera.rows import ModelRows
from tessera.selectors import auth_failure_window, auth_keys, auth_throttle_wait, client_address
from tessera.services import auth_failure_record, auth_throttled_record

# Writing last_used_at on every request would turn each read into a write; a
# coarse timestamp is all that token hygiene needs.
LAST_USED_RESOLUTION = timedelta(minutes=10)

_TOKEN_ROWS = ModelRows(ApiToken)
_USER_ROWS = ModelRows(User)
_MEMBERSHIP_ROWS = ModelRows(Membership)
_ORGANIZATION_ROWS = ModelRows(Organization)

# Every token request runs this: the token, its user, the user's membership of their active
# organization (what tessera.selectors.membership_for would read next) and the client address's
# failure count, in one statement written out (see tessera/rows.py for why not the ORM).
_TOKEN_SQL = """
SELECT {token}, {user}, {membership}, {organization},
  (SELECT f."failures" FROM "{failures}" f WHERE f."key" = %s AND f."window" = %s)
FROM "{tokens}" t
JOIN "{users}" u ON u."id" = t."user_id"
LEFT JOIN "{memberships}" m ON m."user_id" = u."id" AND m."organization_id" = u."active_organization_id" AND m."is_active"
LEFT JOIN "{organizations}" o ON o."id" = m."organization_id"
WHERE t."digest" = %s
""".format(
    token=_TOKEN_ROWS.columns("t"),
    user=_USER_ROWS.columns("u"),
    membership=_MEMBERSHIP_ROWS.columns("m"),
    organization=_ORGANIZATION_ROWS.columns("o"),
    failures=AuthFailureCount._meta.db_table,
    tokens=ApiToken._meta.db_table,
    users=User._meta.db_table,
    memberships=Membership._meta.db_table,
    organizations=Organization._meta.db_table,
)


def _token_with_membership(digest: str, *, address: str, window: int) -> tuple[ApiToken, int] | None:
    """The token with its user, the user's active membership cached on the user (as membership_for
    caches it), and the address's failures in this window; None when no token has this digest."""
    with connection.cursor() as cursor:
        prepared.execute(cursor, "token", _TOKEN_SQL, [auth_keys(address=address)[0], window, digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token = _TOKEN_ROWS.build(row)
    at = _TOKEN_ROWS.width
    user = _USER_ROWS.build(row, at)
    at += _USER_ROWS.width
    membership = None
    if row[at] is not None:
        membership = _MEMBERSHIP_ROWS.build(row, at)
        membership.organization = _ORGANIZATION_ROWS.build(row, at + _MEMBERSHIP_ROWS.width)
    at += _MEMBERSHIP_ROWS.width + _ORGANIZATION_ROWS.width
    user._tessera_membership = membership
    token.user = user
    return token, row[at] or 0


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
        found = _token_with_membership(ApiToken.digest_of(key), address=address, window=window)
        if found is None:
            self._refuse(address, "Invalid token.")
        token, address_failures = found
        if address_failures >= settings.TESSERA_AUTH_FAILURES_PER_ADDRESS:
            self._throttled(address, remaining)
        now = timezone.now()
        if not token.user.is_active:
            self._refuse(address, "Invalid token.", user=token.user)
        if token.expires_at is not None and token.expires_at <= now:
            self._refuse(address, "The token has expired.", user=token.user)
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
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
