"""Pins what tests/compat/sdk_http.py reads from label-studio-sdk's private parts: a request sent through
it goes where, and with the headers, that the SDK's own calls use."""

from pathlib import Path

import httpx

from tests.compat.sdk_http import sdk_client, sdk_request


def test_a_raw_request_goes_out_as_the_sdks_own_calls_do():
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"release": "1.0"})

    client, http = sdk_client("http://tessera.test", "key-123", transport=httpx.MockTransport(answer))
    try:
        client.versions.get()
        response = sdk_request(client, "api/version/", params={"probe": "1"})
    finally:
        http.close()
    assert response.status_code == 200 and response.json() == {"release": "1.0"}
    own, raw = sent
    assert (
        own.url.copy_with(query=None) == raw.url.copy_with(query=None) == "http://tessera.test/api/version/"
    )
    assert raw.url.params["probe"] == "1"
    assert raw.headers["Authorization"] == "Token key-123"
    assert {
        k: v for k, v in raw.headers.items() if k.lower().startswith(("x-", "authorization", "user-agent"))
    } == {k: v for k, v in own.headers.items() if k.lower().startswith(("x-", "authorization", "user-agent"))}
    # The HTTP client passed in is the one the SDK sends through, so closing it closes the SDK's.
    assert http.is_closed


def test_the_sdks_private_client_is_reached_from_sdk_http_only():
    tests_dir = Path(__file__).resolve().parents[1]
    offenders = [
        f"{path.relative_to(tests_dir)}:{number}"
        for path in tests_dir.rglob("*.py")
        if path.name not in ("sdk_http.py", "test_sdk_http.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "_client_wrapper" in line
    ]
    assert offenders == []
