"""Refuse request bodies larger than the endpoint takes, before anything reads them.

Django bounds the bodies it reads itself (forms, ``request.body``) by DATA_UPLOAD_MAX_MEMORY_SIZE, but
DRF hands its parsers the raw stream, so a JSON body of any size would be read whole into memory by
any endpoint. Here every request is held to DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default) by its
declared Content-Length, except the task import, which takes up to TESSERA_MAX_UPLOAD_BYTES and
streams it to disk (annotation/api/imports.py), and the prediction import, which DRF parses in memory
and so takes only up to TESSERA_MAX_PREDICTION_IMPORT_BYTES. Bodies with no Content-Length (chunked)
are bounded, by the same limit, where they are read (tessera/middleware.py).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

# URL names (annotation/api/urls.py) whose views read large bodies on purpose.
IMPORT_VIEWS = frozenset({"project-import"})
# The prediction import is parsed whole in memory (a JSON array of predictions): a bound of its own.
PREDICTION_IMPORT_VIEWS = frozenset({"project-import-predictions"})
# The task import checks the declared length itself, answering with its own field ("file").
SELF_CHECKING_VIEWS = frozenset({"project-import"})


def body_limit_for(url_name: str | None) -> int:
    if url_name in PREDICTION_IMPORT_VIEWS:
        return settings.TESSERA_MAX_PREDICTION_IMPORT_BYTES
    if url_name in IMPORT_VIEWS or settings.DATA_UPLOAD_MAX_MEMORY_SIZE is None:
        return max(settings.TESSERA_MAX_UPLOAD_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def body_limit_for_path(path: str) -> int:
    """The same limit for a request not yet routed (a chunked body is read before URL resolution)."""
    try:
        url_name = resolve(path).url_name
    except Resolver404:
        url_name = None
    return body_limit_for(url_name)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[object, ...],
        view_kwargs: dict[str, object],
    ) -> HttpResponse | None:
        url_name = request.resolver_match.url_name if request.resolver_match else None
        if url_name in SELF_CHECKING_VIEWS:
            return None
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "invalid_header", "The Content-Length header is not a number.")
        limit = body_limit_for(url_name)
        if declared > limit:
            return error_response(
                413, "too_large", f"The request body is {declared} bytes; this endpoint takes {limit}."
            )
        return None


def error_response(status: int, code: str, message: str) -> JsonResponse:
    """The API's one error shape, for refusals made before DRF sees the request."""
    return JsonResponse(
        {"error": {"code": code, "message": message, "field": None}, "detail": message}, status=status
    )
