"""Request types for views that only signed-in users reach.

DRF and Django type ``request.user`` as ``User | AnonymousUser``, since a request may come from anyone.
Our API views all run behind ``IsAuthenticated`` (the default permission class in settings), and the
pages behind ``login_required``, so there the user is always one of ours. Annotating such a view's
request with these types says so once, instead of narrowing ``request.user`` in every view. They are
types for annotations only: at run time the request is DRF's or Django's own object.
"""

from django.http import HttpRequest
from rest_framework.request import Request

from tessera.models import User


class AuthenticatedRequest(Request):
    """A DRF request that passed ``IsAuthenticated``."""

    user: User


class AuthenticatedHttpRequest(HttpRequest):
    """A Django request that passed ``login_required``."""

    user: User
