"""One JSON shape for every error: ``{"error": {"code", "message", "field"}, "detail": message}``.

``detail`` repeats the message because Label Studio clients read that key.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tessera.errors import ApplicationError

logger = logging.getLogger(__name__)


def error_response(*, status_code: int, code: str, message: str, field: str | None = None) -> Response:
    return Response(
        {"error": {"code": code, "message": message, "field": field}, "detail": message},
        status=status_code,
    )


def _first_validation_error(detail: object, path: str = "") -> tuple[str | None, str, str]:
    """Walk DRF's nested error detail down to the first leaf: (field path, message, code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            child = key if not path else f"{path}.{key}"
            if key == "non_field_errors":
                child = path or None
            return _first_validation_error(value, child or "")
    if isinstance(detail, list) and detail:
        first = detail[0]
        if isinstance(first, (dict, list)):
            index = next((i for i, item in enumerate(detail) if item), 0)
            return _first_validation_error(detail[index], f"{path}[{index}]" if path else f"[{index}]")
        return (path or None), str(first), getattr(first, "code", "invalid")
    return (path or None), str(detail), getattr(detail, "code", "invalid")


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, ApplicationError):
        return error_response(status_code=exc.status, code=exc.code, message=exc.message, field=exc.field)
    if isinstance(exc, Http404):
        return error_response(status_code=404, code="not_found", message=_("Not found."))
    # Django raises these while reading a body beyond DATA_UPLOAD_MAX_MEMORY_SIZE or with too many
    # fields or files; they reach DRF's handler from request.data, and are the client's fault.
    if isinstance(exc, RequestDataTooBig):
        return error_response(
            status_code=413,
            code="too_large",
            message=_("The request body is larger than the server accepts."),
        )
    if isinstance(exc, SuspiciousOperation):
        return error_response(status_code=400, code="bad_request", message=str(exc) or _("Bad request."))
    if isinstance(exc, DjangoPermissionDenied):
        return error_response(status_code=403, code="permission_denied", message=str(exc) or _("Forbidden."))
    if isinstance(exc, exceptions.ValidationError):
        field, message, code = _first_validation_error(exc.detail)
        return error_response(status_code=400, code=code or "invalid", message=message, field=field)
    if isinstance(exc, exceptions.APIException):
        response = drf_exception_handler(exc, context)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_response(status_code=exc.status_code, code=code, message=str(detail))
        if response is not None:
            for header, value in response.items():
                body[header] = value
        return body
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return error_response(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        code="server_error",
        message="Internal server error.",
    )
