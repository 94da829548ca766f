"""The one HTTP client for server-side requests to addresses that users give (ML backends, chat endpoints).

A URL typed into a settings form would otherwise let anyone who may save it make the server call its
own network: the database, the broker, a cloud's metadata service (server-side request forgery). So:

- only ``http`` and ``https``, no user name or password inside the URL;
- the host is resolved **once** and **every** address it resolves to is checked: private, loopback,
  link-local, multicast, reserved, unspecified, shared address space (100.64.0.0/10), site-local,
  and IPv4 addresses hidden in IPv6 ones (IPv4-mapped and -compatible, 6to4, Teredo, NAT64) are
  refused, cloud metadata addresses always, unless ``TESSERA_OUTBOUND_ALLOWED_NETWORKS`` (CIDR list,
  empty by default) allows them. A metadata address is allowed only when named alone (``/32``,
  ``/128``), never by a wider network that happens to hold it;
- the connection goes to the address that was checked, with the name in the Host header and in TLS
  (SNI and the certificate check), so a DNS answer that changes between check and connect (DNS
  rebinding) reaches nothing new, and proxies from the environment are never used;
- redirects are refused (a 3xx is an error: its target would need the same checks, and a backend
  has no reason to redirect);
- every call has a connect timeout and a timeout for the whole answer; the body is read in chunks and
  refused past ``TESSERA_OUTBOUND_MAX_RESPONSE_BYTES``; compressed answers are not asked for and
  refused, so the cap counts the bytes that are kept;
- every failure is an ``OutboundError`` whose code says which rule or step failed.

Host names resolve through one function (``system_resolver``); callers may pass another with the same
signature (the tests feed addresses through it).
"""

import base64
import ipaddress
import json
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from django.conf import settings
from django.utils.translation import gettext as _

from tessera.errors import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host name, port) -> the addresses it resolves to, as text.
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_CHARS = 2048
_CHUNK_BYTES = 64 * 1024

# Instance metadata services: AWS, GCP, Azure, OpenStack and others at 169.254.169.254 (and AWS's IPv6
# one), Alibaba's in the shared address space, Azure's wire server on a public address.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


class OutboundError(ApplicationError):
    """A request to a user-given server refused or failed. ``code`` names the rule or step:

    invalid_url, address_not_allowed (400: what was asked is refused); unresolvable, connection_failed,
    tls_failed, timeout, redirect_refused, response_too_large, http_error, invalid_json (502: the other
    server did not answer as it must).
    """

    REFUSALS = frozenset({"invalid_url", "address_not_allowed"})

    def __init__(self, message: str, *, code: str, field: str | None = None):
        super().__init__(message, field=field, code=code, status=400 if code in self.REFUSALS else 502)


@dataclass(frozen=True)
class Target:
    """A checked URL, split for the connection: ``host`` as resolved and sent (IDNA, no brackets)."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    host_header: str
    is_address: bool  # the URL names an IP address, not a host name


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    host: str

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError as exc:  # UnicodeDecodeError is a ValueError too
            raise OutboundError(
                _("%(host)s answered with something that is not JSON: %(start)s")
                % {"host": self.host, "start": _excerpt(self.body)},
                code="invalid_json",
            ) from exc


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for ``host``, every address of it, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# ---- addresses ---------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def allowed_networks() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 one carries and that traffic to it may end up at."""
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # (server, client)
    if address in _NAT64 or address in _NAT64_LOCAL:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    # IPv4-compatible (::a.b.c.d, deprecated); :: and ::1 are refused as unspecified and loopback.
    if int(address) >> 32 == 0 and int(address) > 1:
        found.append(ipaddress.IPv4Address(int(address)))
    return found


def _public_refusal(address: IPAddress) -> str | None:
    """Why an address that no allowed network holds is refused, or None for a public address."""
    if address in METADATA_ADDRESSES:
        return _("a cloud metadata address")
    if isinstance(address, ipaddress.IPv6Address):
        # The IPv4 address inside says more than the IPv6 range it sits in (often "reserved").
        for embedded in _embedded_ipv4(address):
            reason = _public_refusal(embedded)
            if reason is not None:
                return _("an IPv6 address that carries %(reason)s (%(address)s)") % {
                    "reason": reason,
                    "address": embedded,
                }
    checks = (
        (address.is_unspecified, _("an unspecified address")),
        (address.is_loopback, _("a loopback address")),
        (address.is_link_local, _("a link-local address")),
        (address.is_multicast, _("a multicast address")),
        (address.version == 4 and address in _SHARED_ADDRESS_SPACE, _("a shared address (100.64.0.0/10)")),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, _("a site-local address")),
        (address.is_private, _("a private address")),
        (address.is_reserved, _("a reserved address")),
    )
    for refused, reason in checks:
        if refused:
            return reason
    if not address.is_global:
        return _("not a public address")
    return None


def address_refusal(address: IPAddress, allowed: Sequence[IPNetwork] | None = None) -> str | None:
    """Why Tessera will not connect to ``address`` (a phrase for a message), or None when it may."""
    if allowed is None:
        allowed = allowed_networks()
    # An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address itself to the socket.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    carried = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
    if address in METADATA_ADDRESSES or any(embedded in METADATA_ADDRESSES for embedded in carried):
        # Only an allow-list entry naming this very address lets a metadata service through.
        named = any(net.num_addresses == 1 and address in net for net in allowed)
        return None if named else _("a cloud metadata address")
    if any(address.version == net.version and address in net for net in allowed):
        return None
    return _public_refusal(address)


# ---- URLs --------------------------------------------------------------------------------------------


def _invalid(message: str) -> OutboundError:
    return OutboundError(message, code="invalid_url")


def parse_url(url: object) -> Target:
    """Split and check a URL's form (no network): scheme, host, port."""
    if not isinstance(url, str) or not url:
        raise _invalid(_("The URL must be a non-empty string."))
    if len(url) > MAX_URL_CHARS:
        raise _invalid(_("The URL is longer than %(limit)s characters.") % {"limit": MAX_URL_CHARS})
    if any(ord(char) <= 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF for char in url):
        raise _invalid(_("The URL holds spaces, control characters or lone surrogates."))
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(_("The URL is not valid: %(reason)s.") % {"reason": exc}) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _invalid(_("The URL must start with http:// or https://."))
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise _invalid(_("The URL may not hold a user name or password; use the authentication settings."))
    raw_host = parts.hostname or ""
    if not raw_host:
        raise _invalid(_("The URL names no host."))
    host, is_address = _host(raw_host)
    default_port = 443 if scheme == "https" else 80
    port = default_port if port is None else port
    if not 0 < port < 65536:
        raise _invalid(_("The URL's port is not valid."))
    shown = f"[{host}]" if ":" in host else host
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=scheme,
        host=host,
        port=port,
        path=path,
        host_header=shown if port == default_port else f"{shown}:{port}",
        is_address=is_address,
    )


def _host(raw: str) -> tuple[str, bool]:
    """The host as connected to and sent, and whether it is an IP address."""
    try:
        return str(ipaddress.ip_address(raw)), True
    except ValueError:
        pass
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = ""
    if not host or not all(char.isalnum() or char in "-." for char in host):
        raise _invalid(_("The URL's host name is not valid."))
    return host, False


def join_url(base: str, suffix: str) -> str:
    """``base`` with one path segment (or more) added: ``join_url("http://h/ml/", "predict")``."""
    return f"{base.rstrip('/')}/{suffix.lstrip('/')}"


def checked_address(target: Target, *, resolver: Resolver | None = None) -> str:
    """Resolve the target's host once, check every address it resolves to, and return the one to use."""
    if target.is_address:
        candidates = [target.host]
    else:
        try:
            candidates = list((resolver or system_resolver)(target.host, target.port))
        except OSError as exc:
            raise OutboundError(
                _("The host name %(host)s does not resolve (%(reason)s).")
                % {"host": target.host, "reason": exc},
                code="unresolvable",
            ) from None
        if not candidates:
            raise OutboundError(
                _("The host name %(host)s does not resolve.") % {"host": target.host}, code="unresolvable"
            )
    allowed = allowed_networks()
    addresses: list[IPAddress] = []
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate.split("%", 1)[0])
        except ValueError:
            raise OutboundError(
                _("The host name %(host)s resolved to %(value)r, which is not an IP address.")
                % {"host": target.host, "value": candidate},
                code="unresolvable",
            ) from None
        reason = address_refusal(address, allowed)
        if reason is not None:
            raise OutboundError(
                _(
                    "%(host)s is %(address)s, %(reason)s: Tessera does not call private, loopback, "
                    "link-local or metadata addresses unless an administrator allows them "
                    "(TESSERA_OUTBOUND_ALLOWED_NETWORKS)."
                )
                % {"host": target.host, "address": address, "reason": reason},
                code="address_not_allowed",
            )
        addresses.append(address)
    return str(addresses[0])


def check_url(url: object, *, resolver: Resolver | None = None) -> str:
    """The checks of a request without the request: for settings when they are saved. Returns the URL."""
    checked_address(parse_url(url), resolver=resolver)
    return str(url)


# ---- requests ----------------------------------------------------------------------------------------


def _excerpt(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return "".join(char if char.isprintable() else " " for char in text).strip()


def _pool(target: Target, address: str, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.TESSERA_OUTBOUND_CA_BUNDLE or certifi.where(),
            # The name, not the address, in SNI and in the certificate check.
            server_hostname=None if target.is_address else target.host,
            assert_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1)


def request(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    basic_auth: tuple[str, str] | None = None,
    bearer_token: str | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    expect_ok: bool = True,
    resolver: Resolver | None = None,
) -> OutboundResponse:
    """Send one request by the rules above and read its whole answer.

    ``timeout`` (seconds) bounds the whole answer, from sending to the last byte, on top of the connect
    timeout; with ``expect_ok`` an answer outside 2xx is an ``http_error``. A 3xx is always an error.
    """
    target = parse_url(url)
    address = checked_address(target, resolver=resolver)
    total = float(timeout if timeout is not None else settings.TESSERA_OUTBOUND_TIMEOUT_SECONDS)
    limit = max_bytes if max_bytes is not None else settings.TESSERA_OUTBOUND_MAX_RESPONSE_BYTES
    sent = {
        "Host": target.host_header,
        "User-Agent": "Tessera",
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        **(headers or {}),
    }
    body = None
    if json_body is not None:
        body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        sent["Content-Type"] = "application/json"
    if basic_auth is not None:
        pair = f"{basic_auth[0]}:{basic_auth[1]}".encode()
        sent["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    elif bearer_token:
        sent["Authorization"] = f"Bearer {bearer_token}"
    timeouts = urllib3.Timeout(connect=float(settings.TESSERA_OUTBOUND_CONNECT_TIMEOUT_SECONDS), read=total)
    deadline = time.monotonic() + float(settings.TESSERA_OUTBOUND_CONNECT_TIMEOUT_SECONDS) + total
    host = target.host
    pool = _pool(target, address, timeouts)
    try:
        try:
            response = pool.urlopen(
                method,
                target.path,
                body=body,
                headers=sent,
                retries=False,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise _failure(exc, host, total) from None
        try:
            return _read(
                response, host=host, limit=limit, deadline=deadline, total=total, expect_ok=expect_ok
            )
        finally:
            response.release_conn()
            response.close()
    finally:
        pool.close()


def _timed_out(host: str, total: float) -> OutboundError:
    return OutboundError(
        _("%(host)s did not answer within %(seconds)s seconds.") % {"host": host, "seconds": total},
        code="timeout",
    )


def _failure(exc: Exception, host: str, total: float) -> OutboundError:
    # NewConnectionError (refused, unreachable) is a ConnectTimeoutError to urllib3: ask for it first.
    if isinstance(exc, urllib3.exceptions.TimeoutError) and not isinstance(
        exc, urllib3.exceptions.NewConnectionError
    ):
        return _timed_out(host, total)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return OutboundError(
            _("The TLS connection to %(host)s failed: %(reason)s.") % {"host": host, "reason": exc},
            code="tls_failed",
        )
    # urllib3 starts its messages with the connection object's repr: keep what follows.
    reason = str(getattr(exc, "reason", None) or exc).rsplit(">: ", 1)[-1]
    return OutboundError(
        _("Could not reach %(host)s: %(reason)s.") % {"host": host, "reason": reason},
        code="connection_failed",
    )


def _read(
    response: urllib3.BaseHTTPResponse,
    *,
    host: str,
    limit: int,
    deadline: float,
    total: float,
    expect_ok: bool,
) -> OutboundResponse:
    status = response.status
    if 300 <= status < 400:
        raise OutboundError(
            _(
                "%(host)s answered with a redirect (%(status)s); Tessera does not follow redirects: "
                "use the address it points to."
            )
            % {"host": host, "status": status},
            code="redirect_refused",
        )
    too_large = OutboundError(
        _("%(host)s answered with more than %(limit)s bytes.") % {"host": host, "limit": limit},
        code="response_too_large",
    )
    encoding = (response.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise OutboundError(
            _("%(host)s answered with a compressed body (%(encoding)s), which Tessera did not ask for.")
            % {"host": host, "encoding": encoding[:40]},
            code="http_error",
        )
    declared = response.headers.get("Content-Length")
    if (
        declared is not None
        and declared.strip().isascii()
        and declared.strip().isdigit()
        and int(declared) > limit
    ):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        # read1: at most one read of the socket per chunk, so the deadline is checked as bytes come.
        while chunk := response.read1(_CHUNK_BYTES, decode_content=False):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            # The read timeout bounds each wait; this bounds a server that sends a byte at a time.
            if time.monotonic() > deadline:
                raise _timed_out(host, total)
    except urllib3.exceptions.HTTPError as exc:
        raise _failure(exc, host, total) from None
    body = b"".join(chunks)
    if expect_ok and not 200 <= status < 300:
        raise OutboundError(
            _("%(host)s answered %(status)s: %(start)s")
            % {"host": host, "status": status, "start": _excerpt(body)},
            code="http_error",
        )
    return OutboundResponse(
        status=status, headers={k.lower(): v for k, v in response.headers.items()}, body=body, host=host
    )
