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


def api_not_found(request, exception=None):
    return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "field": None}, "detail": "Not found."}, status=404)


def server_error(request):
    return JsonResponse(
        {"error": {"code": "server_error", "message": "Internal server error.", "field": None},
         "detail": "Internal server error."},
        status=500,
    )  # fmt: skip


handler404 = api_not_found
handler500 = server_error
