"""Security headers for the browser app's pages.

The Content-Security-Policy is strict and enforced: scripts and styles only from our own origin (the
built files under /static/), no inline script, no eval, images only from our origin and the configured
allow-list. Task data is untrusted; even if some text ever reached the DOM as markup, the browser would
refuse to run it. The API's HTML pages (DRF's browsable API, Swagger UI at /api/docs/ with its files
served from our origin by drf-spectacular-sidecar) get a policy as strict, allowing only data: images
besides our own (Swagger UI's icons); its other answers (JSON, exports) get one that lets nothing load,
in case a browser ever renders one as a document.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def content_security_policy() -> str:
    images = " ".join(["'self'", *settings.TESSERA_IMAGE_ALLOWED_ORIGINS])
    directives = {
        "default-src": "'none'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": images,
        "font-src": "'self'",
        "connect-src": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "object-src": "'none'",
        "manifest-src": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


API_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
API_DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        is_html = response.get("Content-Type", "").startswith("text/html")
        if request.path.startswith("/api/"):
            response.setdefault("Content-Security-Policy", API_PAGE_POLICY if is_html else API_DATA_POLICY)
            if not is_html:
                return response
        response.setdefault("Content-Security-Policy", self.policy)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", "same-origin")
        if is_html:
            # Pages show a user's work; never keep them in shared caches or the back-forward cache.
            response.setdefault("Cache-Control", "no-store")
        return response


class UserLanguageMiddleware:
    """Speak the signed-in user's chosen language (User.language) on their requests.

    Runs after Django's LocaleMiddleware, which has already picked one from the language cookie or
    Accept-Language (falling back to English on anything it does not know); a user's own choice wins.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if chosen and chosen in dict(settings.LANGUAGES):
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)
