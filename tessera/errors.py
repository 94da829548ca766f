"""The one application error type. Services raise it; one DRF handler maps it to JSON.

The JSON shape is ``{"error": {"code", "message", "field"}}`` (plus ``detail``
for clients written against Label Studio, which read that key). Messages are translated where they are
raised (``gettext``, in the request's language), so the codes and fields stay the same in every language.
"""

from django.utils.translation import gettext as _


class ApplicationError(Exception):
    status = 400

    def __init__(
        self, message: str, *, field: str | None = None, code: str = "invalid", status: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        if status is not None:
            self.status = status


class NotFound(ApplicationError):
    status = 404

    def __init__(self, message: str | None = None, *, field: str | None = None, code: str = "not_found"):
        super().__init__(_("Not found.") if message is None else message, field=field, code=code)


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message: str, *, field: str | None = None, code: str = "permission_denied"):
        super().__init__(message, field=field, code=code)


class Conflict(ApplicationError):
    status = 409

    def __init__(self, message: str, *, field: str | None = None, code: str = "conflict"):
        super().__init__(message, field=field, code=code)
