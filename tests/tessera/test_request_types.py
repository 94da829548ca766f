"""The request types hold at run time: a view whose ``request`` is annotated AuthenticatedRequest
(its ``user`` typed as our User) only runs for signed-in callers, and so does a page annotated
AuthenticatedHttpRequest. Without this, the type checker would trust a claim that a new view with
``permission_classes = [AllowAny]``, or a page without login_required, silently broke."""

import inspect
import typing

from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from tessera.request_types import AuthenticatedHttpRequest, AuthenticatedRequest

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _patterns(patterns=None):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern


def _request_type(function) -> object:
    return typing.get_type_hints(inspect.unwrap(function)).get("request")


def test_every_view_typed_for_a_signed_in_caller_requires_one():
    typed_views = typed_pages = 0
    for pattern in _patterns():
        callback = pattern.callback
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is not None and issubclass(view_class, APIView):
            methods = [getattr(view_class, name) for name in HTTP_METHODS if hasattr(view_class, name)]
            if any(_request_type(method) is AuthenticatedRequest for method in methods):
                typed_views += 1
                permissions = view_class().get_permissions()
                assert any(isinstance(permission, IsAuthenticated) for permission in permissions), view_class
        elif _request_type(callback) is AuthenticatedHttpRequest:
            typed_pages += 1
            request = RequestFactory().get("/")
            request.user = AnonymousUser()
            response = callback(request, **{name: 1 for name in pattern.pattern.regex.groupindex})
            # Sent to sign in before the view runs (login_required).
            assert response.status_code == 302 and "/login" in response["Location"], callback
    # The walk found what it checks: the API's views and the app's pages.
    assert typed_views >= 20 and typed_pages >= 2, (typed_views, typed_pages)
