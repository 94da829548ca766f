"""Security headers for the browser app's pages.

The Content-Security-Policy is strict and enforced: scripts and styles only from our own origin (the
built files under /static/), no inline script, no eval, images only from our origin and the configured
allow-list. Task data is untrusted; even if some text ever reached the DOM as markup, the browser would
refuse to run it. The API (/api/) keeps its own headers: its docs page loads Swagger UI, and JSON is
never rendered as a document.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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


PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            return response
        response.setdefault("Content-Security-Policy", self.policy)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", "same-origin")
        if response.get("Content-Type", "").startswith("text/html"):
            # Pages show a user's work; never keep them in shared caches or the back-forward cache.
            response.setdefault("Cache-Control", "no-store")
        return response
