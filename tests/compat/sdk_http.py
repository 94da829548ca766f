"""label-studio-sdk's own HTTP client, for the compat tests: the only module that reaches into the SDK's
private ``_client_wrapper``.

The tests compare raw response bodies with the SDK's types (its pagers hand back only the parsed page),
so they send those requests as the SDK sends its own: same base URL, same headers (the token and the
SDK's version headers). The SDK offers no public way to do that; everything else here is public: the
client is built on an ``httpx.Client`` passed in, which the caller closes. tests/compat/test_sdk_http.py
pins the behaviour relied on.
"""

import httpx
from label_studio_sdk.client import LabelStudio


def sdk_client(
    base_url: str, api_key: str, *, transport: httpx.BaseTransport | None = None
) -> tuple[LabelStudio, httpx.Client]:
    """The SDK's client and the HTTP client it sends through (close it when done).

    max_retries=0: a 5xx must fail a test at once, not be retried into a pass.
    """
    http = httpx.Client(timeout=30, transport=transport)
    return LabelStudio(base_url=base_url, api_key=api_key, max_retries=0, timeout=30, httpx_client=http), http


def sdk_request(
    client: LabelStudio, path: str, *, method: str = "GET", params: dict | None = None
) -> httpx.Response:
    """``path`` (relative to the base URL, as the SDK writes it: "api/tasks/") sent as the SDK sends its calls."""
    return client._client_wrapper.httpx_client.request(path, method=method, params=params)
