"""Small helpers shared by the API views of every app."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.request import Request

from tessera import validation
from tessera.errors import ApplicationError

MAX_OFFSET = 2**62


def json_object(request: Request) -> dict:
    """The request body as a JSON object, or a 400 that says what came instead."""
    data = request.data
    if not isinstance(data, dict):
        raise ApplicationError(_("The request body must be a JSON object."), code="invalid_body")
    return data


def page_params(request: Request, *, default_size: int = 100, clamp: bool = False) -> tuple[int, int]:
    """(page, page_size) from the query string, 1-based, with page_size capped by a setting.

    Over the cap, a 400 names page_size; with ``clamp`` the page is cut to the cap instead, for
    lists that Label Studio's clients fetch whole with a huge page_size (projects).
    """
    values = {}
    for name, default in (("page", 1), ("page_size", default_size)):
        raw = request.query_params.get(name, default)
        try:
            values[name] = validation.query_integer(raw, field=name)
        except ApplicationError:
            raise ApplicationError(
                _("%(name)s must be a positive integer.") % {"name": name}, field=name
            ) from None
    limit = settings.TESSERA_PAGE_SIZE_MAX
    if values["page_size"] > limit and clamp:
        values["page_size"] = limit
    if values["page_size"] > limit:
        raise ApplicationError(_("page_size may be at most %(limit)s.") % {"limit": limit}, field="page_size")
    # The offset must fit the database's 64-bit integers, or the query fails instead of coming back empty.
    if (values["page"] - 1) * values["page_size"] > MAX_OFFSET:
        raise ApplicationError(_("page is beyond any page there could be."), field="page")
    return values["page"], values["page_size"]
