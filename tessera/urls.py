from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tessera.selectors import readiness


def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no service, so a slow database never restarts the web server."""
    return JsonResponse({"status": "UP"})


def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the broker answer; 503 naming the one that does not."""
    checks = readiness()
    failed = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "DOWN" if failed else "UP",
        "checks": {k: "up" if ok else "down" for k, ok in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)


urlpatterns = [
    re_path(r"^health/?$", health, name="health"),
    re_path(r"^ready/?$", ready, name="ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a file, not an inline script, and our template
    # moves its inline style to a file, so the page runs under the API's CSP (frontend/middleware.py),
    # with its assets from drf-spectacular-sidecar.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="tessera/api_docs.html"),
        name="api-docs",
    ),
    path("api/", include("tessera.api.urls")),
    path("api/", include("annotation.api.urls")),
    path("api/", include("exports.api")),
    path("api/", include("exports.api_datasets")),
    path("api/", include("exports.api_snapshots")),
    path("api/", include("exports.api_dataset_formats")),
    path("api/", include("training.api.urls")),
    path("", include("frontend.urls")),
]


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "field": None}, "detail": message}, status=status
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # Django answers here for a request it refuses before any view runs (a body too large, too many fields).
    return _error(400, "bad_request", "Bad request.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # CSRF failures of browser sessions on non-API views, and Django's own PermissionDenied.
    return _error(403, "permission_denied", str(exception) if exception else "Forbidden.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # The API answers JSON; a browser anywhere else gets the app's styled page, never raw JSON.
    if request.path.startswith("/api/"):
        return _error(404, "not_found", "Not found.")
    from frontend.views import not_found_page

    return not_found_page(request)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": "server_error", "message": "Internal server error.", "field": None},
         "detail": "Internal server error."},
        status=500,
    )  # fmt: skip


handler400 = bad_request
handler403 = permission_denied
handler404 = not_found
handler500 = server_error
