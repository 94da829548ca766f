from django.http import JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def health(request):
    return JsonResponse({"status": "UP"})


urlpatterns = [
    path("health", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("tessera.api.urls")),
    path("api/", include("annotation.api.urls")),
    path("api/", include("exports.api")),
    path("", include("frontend.urls")),
]


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": code, "message": message, "field": None}, "detail": message}, status=status
    )


def bad_request(request, exception=None):
    # Django answers here for a request it refuses before any view runs (a body too large, too many fields).
    return _error(400, "bad_request", "Bad request.")


def permission_denied(request, exception=None):
    # CSRF failures of browser sessions on non-API views, and Django's own PermissionDenied.
    return _error(403, "permission_denied", str(exception) if exception else "Forbidden.")


def api_not_found(request, exception=None):
    return _error(404, "not_found", "Not found.")


def server_error(request):
    return JsonResponse(
        {"error": {"code": "server_error", "message": "Internal server error.", "field": None},
         "detail": "Internal server error."},
        status=500,
    )  # fmt: skip


handler400 = bad_request
handler403 = permission_denied
handler404 = api_not_found
handler500 = server_error
