"""Fixtures for label-studio-sdk against a live server: a real client per member of the cast.

``live_server`` makes these tests transactional, so the rows that the cast and
the tests write are visible to the server thread.
"""

from collections.abc import Callable, Iterator

import pytest
from django.db import connections
from label_studio_sdk.client import LabelStudio
from pydantic import BaseModel

from tests.compat.sdk_http import sdk_client, sdk_request


@pytest.fixture(autouse=True)
def live_server_closes_its_connections():
    """The live server keeps HTTP connections alive, and each of its threads would keep its database
    connection for CONN_MAX_AGE while the client's socket stays open; PostgreSQL then refuses to
    drop the test database at the end. With 0 each request closes its connection when it ends."""
    database = connections.settings["default"]
    saved = database["CONN_MAX_AGE"]
    database["CONN_MAX_AGE"] = 0
    yield
    database["CONN_MAX_AGE"] = saved


@pytest.fixture
def sdk(cast, live_server) -> Iterator[Callable[[str], LabelStudio]]:
    """``sdk("manager")`` is the SDK's own client sending that member's legacy token."""
    connections_to_close = []

    def client_for(key: str) -> LabelStudio:
        client, http = sdk_client(live_server.url, cast.tokens[key])
        connections_to_close.append(http)
        return client

    yield client_for
    for http in connections_to_close:
        http.close()


# The SDK's types come from Label Studio Enterprise's schema, where a project always carries
# these settings objects; Label Studio Community omits them, and so does Tessera.
ENTERPRISE_PROJECT_FIELDS = ("assignment_settings", "review_settings")


def raw_get(client: LabelStudio, path: str, **params) -> dict | list:
    """GET through the SDK's own HTTP client (same headers, base URL) and return the body unparsed.

    For list calls: the SDK's pagers hand back only the parsed page, not the body.
    """
    response = sdk_request(client, path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def strictly(model: type[BaseModel], body, *, enterprise_only: tuple[str, ...] = ()) -> BaseModel:
    """Validate a raw response body against the SDK's pydantic type with its required fields and types.

    The SDK itself builds its objects without validation (``construct_type``), so
    a missing or mistyped field only shows up later as ``None`` or an odd value
    in the user's script; this check makes such a shape fail here instead.
    """
    if enterprise_only:
        assert not set(enterprise_only) & set(body), "an Enterprise-only field appeared: check its shape"
        body = {**body, **{name: {} for name in enterprise_only}}
    return model.model_validate(body)
