"""Media URLs that would make the annotator's browser call Tessera's own API. Plain Python.

The labeling page loads task images (and, in Label Studio's configs, audio and video) from our own
origin, with the session cookie. A task whose image is ``/api/projects/1/next``, or any other
``/api/`` path, would make every annotator who opens it send a request they never meant to: so the
label config check, the import check and the page itself refuse such URLs, however they are spelled
(relative, ``//host/api/…``, ``/%61pi/``, ``/API/``, ``/x/../api/``, backslashes, tabs).
"""

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import unquote, urljoin, urlsplit

from django.http.request import validate_host

# Where the labeling page lives: a relative URL in task data resolves against it.
_PAGE = "http://tessera.invalid/projects/0/label/"
_PAGE_HOST = "tessera.invalid"
# Browsers drop tabs and newlines anywhere in a URL, and C0 controls and spaces at its ends.
_DROPPED = re.compile(r"[\t\n\r]")
_ENDS = "".join(chr(code) for code in range(0x21))


def _api_path(url: str, *, own_hosts: Iterable[str]) -> bool:
    try:
        parts = urlsplit(urljoin(_PAGE, url))
    except ValueError:
        return False  # not a URL a browser would load either
    if parts.scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").rstrip(".")
    if host != _PAGE_HOST and not validate_host(host, list(own_hosts)):
        return False
    # The server routes the decoded path: decode as it does (a few rounds, for %2561), then fold
    # the dot segments and repeated slashes that a browser or decoding would fold.
    path = parts.path
    for _ in range(3):
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    path = posixpath.normpath("/" + re.sub(r"/{2,}", "/", path.replace("\\", "/")).lstrip("/")).lower()
    return path == "/api" or path.startswith("/api/")


def points_at_own_api(url: str, *, own_hosts: Iterable[str]) -> bool:
    """Whether the browser, given ``url`` as an image or media source on our page, would call our API.

    ``own_hosts`` are the names this server answers to (``ALLOWED_HOSTS``, wildcards included).
    """
    if not isinstance(url, str):
        return False
    text = _DROPPED.sub("", url).strip(_ENDS)
    # Fast path for the common case (a million image URLs in an import): no "api" and nothing encoded.
    if "%" not in text and "api" not in text.lower():
        return False
    text = text.replace("\\", "/")
    # Parsed as the browser sees it, and again with every escape decoded first (an encoded "/"
    # or "." changes how the URL splits): refused if either reading reaches the API.
    return _api_path(text, own_hosts=own_hosts) or _api_path(unquote(unquote(text)), own_hosts=own_hosts)


def own_hosts() -> list[str]:
    from django.conf import settings

    return list(settings.ALLOWED_HOSTS)
