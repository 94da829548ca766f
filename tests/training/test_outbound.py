"""tessera.outbound: the rules for server-side requests to user-given URLs, each address class, and a
real loopback server that redirects, answers too much, hangs, drips, and sits behind a rebinding name."""

import ipaddress
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tessera import outbound
from tessera.outbound import OutboundError, address_refusal, check_url, parse_url
from tests.training.loopback_servers import drip, hang, json_answer, redirect_to, serve

LOOPBACK_ONLY = ["127.0.0.1/32"]

# (address, what the refusal says) for every class that is refused with no allow-list.
REFUSED = [
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not one to bind
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.1.1", "link-local"),
    ("169.254.169.254", "metadata"),
    ("100.64.0.1", "shared"),
    ("100.100.100.200", "metadata"),
    ("168.63.129.16", "metadata"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "address"),  # reserved (Python also files it under private)
    ("255.255.255.255", "private"),  # the limited broadcast address: Python files it under private
    ("192.0.2.1", "private"),  # documentation (TEST-NET-1)
    ("198.18.0.1", "private"),  # benchmarking
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd00:ec2::254", "metadata"),
    ("ff02::1", "multicast"),
    ("fec0::1", "site-local"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::127.0.0.1", "127.0.0.1"),  # IPv4-compatible (deprecated)
    ("::10.0.0.1", "10.0.0.1"),
    ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ("2002:a9fe:a9fe::1", "metadata"),  # 6to4 around 169.254.169.254
    ("2002:c0a8:101::1", "private"),  # 6to4 around 192.168.1.1
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1
    ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 around 169.254.169.254
    ("2001:db8::1", "private"),  # documentation
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:808:808::1", "::ffff:8.8.8.8"]


@pytest.fixture
def allow(settings):
    def allowing(networks: list[str]) -> None:
        settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = networks

    allowing([])
    return allowing


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_every_address_class_is_refused_without_an_allow_list(allow, address, reason):
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and reason in refusal, (address, refusal)
    with pytest.raises(OutboundError) as caught:
        check_url(f"http://{'[' + address + ']' if ':' in address else address}:9090/")
    assert caught.value.code == "address_not_allowed" and caught.value.status == 400
    assert "TESSERA_OUTBOUND_ALLOWED_NETWORKS" in caught.value.message


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(allow, address):
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_an_allowed_network_lets_its_addresses_through_and_only_those(allow):
    allow(["10.0.0.0/8", "127.0.0.1/32", "fd12::/16"])
    for address in ("10.1.2.3", "::ffff:10.1.2.3", "127.0.0.1", "::ffff:127.0.0.1", "fd12::5"):
        assert address_refusal(ipaddress.ip_address(address)) is None, address
    for address in ("127.0.0.2", "192.168.1.1", "::1", "fd13::5"):
        assert address_refusal(ipaddress.ip_address(address)) is not None, address


def test_a_metadata_address_needs_an_allow_list_entry_naming_it_alone(allow):
    metadata = ipaddress.ip_address("169.254.169.254")
    allow(["169.254.0.0/16", "0.0.0.0/0", "::/0"])
    assert address_refusal(metadata) is not None
    assert address_refusal(ipaddress.ip_address("169.254.1.1")) is None  # the wider network still counts
    assert address_refusal(ipaddress.ip_address("fd00:ec2::254")) is not None
    assert address_refusal(ipaddress.ip_address("::ffff:169.254.169.254")) is not None
    allow(["169.254.169.254/32"])
    assert address_refusal(metadata) is None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "javascript:alert(1)",
        "//93.184.216.34/",
        "http://",
        "http:///path",
        "http://user:secret@93.184.216.34/",
        "http://93.184.216.34@127.0.0.1/",
        "http://93.184.216.34:99999/",
        "http://93.184.216.34:0/",
        "http://exa mple.com/",
        "http://93.184.216.34/\x00",
        "http://93.184.216.34/\ud800",
        "http://ex_ample!.com/",
        "",
        None,
        42,
        "http://" + "a" * 3000 + ".com/",
    ],
)
def test_urls_of_the_wrong_form_are_refused_before_any_lookup(url):
    def no_lookup(host: str, port: int) -> list[str]:
        raise AssertionError("resolved a URL that should have been refused first")

    with pytest.raises(OutboundError) as caught:
        check_url(url, resolver=no_lookup)
    assert caught.value.code == "invalid_url"


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9090/", "http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://[::1]/"],
)
def test_names_and_odd_spellings_of_loopback_are_refused_after_resolving(allow, url):
    # The system's own resolver: /etc/hosts and numeric forms, no network.
    with pytest.raises(OutboundError) as caught:
        check_url(url)
    assert caught.value.code == "address_not_allowed"


def test_every_address_a_name_resolves_to_is_checked(allow):
    allow(LOOPBACK_ONLY)
    with pytest.raises(OutboundError) as caught:
        check_url("http://ml.example/", resolver=lambda host, port: ["127.0.0.1", "10.0.0.7"])
    assert "10.0.0.7" in caught.value.message
    assert check_url("http://ml.example/", resolver=lambda host, port: ["127.0.0.1"]) == "http://ml.example/"


def test_a_name_that_does_not_resolve_is_an_error_naming_it():
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(OutboundError) as caught:
        check_url("http://nowhere.example/", resolver=fails)
    assert caught.value.code == "unresolvable" and "nowhere.example" in caught.value.message
    with pytest.raises(OutboundError):
        check_url("http://nowhere.example/", resolver=lambda host, port: [])


def test_the_host_header_and_port_come_from_the_url():
    target = parse_url("https://ML.Example:8443/v1?x=1#frag")
    assert (target.host, target.port, target.path, target.host_header) == (
        "ml.example",
        8443,
        "/v1?x=1",
        "ml.example:8443",
    )
    assert parse_url("http://[2606:4700::1111]/").host_header == "[2606:4700::1111]"
    assert parse_url("http://bücher.example/").host == "xn--bcher-kva.example"


# ---- against a real server on loopback ---------------------------------------------------------------


def test_a_loopback_server_is_refused_until_an_admin_allows_it(allow):
    with serve({"/health": lambda seen: json_answer({"status": "UP"})}) as server:
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"{server.url}/health")
        assert caught.value.code == "address_not_allowed"
        assert server.requests == []
        allow(LOOPBACK_ONLY)
        response = outbound.request("GET", f"{server.url}/health")
    assert response.status == 200 and response.json() == {"status": "UP"}


def test_a_redirect_is_refused_and_its_target_never_called(allow):
    allow(LOOPBACK_ONLY)
    with serve({"/moved": lambda seen: json_answer({"reached": True})}) as target:
        with serve({"/start": redirect_to(f"{target.url}/moved")}) as server:
            for method in ("GET", "POST"):
                with pytest.raises(OutboundError) as caught:
                    outbound.request(method, f"{server.url}/start", json_body={"a": 1})
                assert caught.value.code == "redirect_refused" and "302" in caught.value.message
        assert target.requests == []


@pytest.mark.parametrize("declared", [True, False])
def test_an_answer_over_the_cap_is_refused_while_streaming(allow, settings, declared):
    allow(LOOPBACK_ONLY)
    settings.TESSERA_OUTBOUND_MAX_RESPONSE_BYTES = 64 * 1024
    big = b"x" * (1024 * 1024)

    def answer(seen):
        if declared:
            return 200, {"Content-Type": "application/json"}, big
        return (
            200,
            {"Content-Type": "application/json"},
            iter([big[i : i + 8192] for i in range(0, len(big), 8192)]),
        )

    with serve({"/big": answer, "/small": lambda seen: json_answer({"ok": True})}) as server:
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"{server.url}/big")
        assert caught.value.code == "response_too_large"
        assert outbound.request("GET", f"{server.url}/small").json() == {"ok": True}
        # A call may lower the cap further.
        with pytest.raises(OutboundError):
            outbound.request("GET", f"{server.url}/small", max_bytes=4)


def test_a_server_that_hangs_times_out(allow):
    allow(LOOPBACK_ONLY)
    with serve({"/slow": hang(5)}) as server:
        started = time.monotonic()
        with pytest.raises(OutboundError) as caught:
            outbound.request("POST", f"{server.url}/slow", json_body={}, timeout=0.5)
    assert caught.value.code == "timeout" and caught.value.status == 502
    assert time.monotonic() - started < 3


def test_a_server_that_drips_is_cut_at_the_whole_answers_deadline(allow, settings):
    allow(LOOPBACK_ONLY)
    settings.TESSERA_OUTBOUND_CONNECT_TIMEOUT_SECONDS = 1
    with serve({"/drip": drip(8)}) as server:
        started = time.monotonic()
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"{server.url}/drip", timeout=1)
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 5


def test_a_closed_port_is_a_connection_error(allow):
    from tests.training.loopback_servers import closed_port

    allow(LOOPBACK_ONLY)
    with pytest.raises(OutboundError) as caught:
        outbound.request("GET", f"http://127.0.0.1:{closed_port()}/health")
    assert caught.value.code == "connection_failed" and caught.value.status == 502


def test_error_statuses_and_bodies_that_are_not_json(allow):
    allow(LOOPBACK_ONLY)
    routes = {
        "/fail": lambda seen: (500, {"Content-Type": "text/plain"}, b"model crashed\x00\n"),
        "/text": lambda seen: (200, {"Content-Type": "text/html"}, b"<html>hello</html>"),
        "/gzip": lambda seen: (200, {"Content-Encoding": "gzip"}, b"\x1f\x8b"),
    }
    with serve(routes) as server:
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"{server.url}/fail")
        assert caught.value.code == "http_error" and "500" in caught.value.message
        assert "model crashed" in caught.value.message and "\x00" not in caught.value.message
        assert outbound.request("GET", f"{server.url}/fail", expect_ok=False).status == 500
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"{server.url}/text").json()
        assert caught.value.code == "invalid_json"
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"{server.url}/gzip")
        assert "compressed" in caught.value.message
        assert server.seen("/fail")[0].headers["accept-encoding"] == "identity"


def test_dns_rebinding_the_checked_address_is_the_one_connected_to(allow):
    """The name answers a loopback address (allowed here, standing in for a public one) when checked and
    the metadata address on any later lookup: the request still goes to the first, with the name in Host."""
    allow(LOOPBACK_ONLY)
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["169.254.169.254"]

    with serve({"/predict": lambda seen: json_answer({"results": []})}) as server:
        response = outbound.request(
            "POST", f"http://ml.example:{server.port}/predict", json_body={"tasks": []}, resolver=rebinding
        )
        assert response.json() == {"results": []}
        assert lookups == ["ml.example"]  # resolved once, for the check and the connection both
        assert server.requests[0].headers["host"] == f"ml.example:{server.port}"
        # The other way round: the name first answers a refused address, and nothing is sent.
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", f"http://ml.example:{server.port}/predict", resolver=rebinding)
        assert caught.value.code == "address_not_allowed" and "169.254.169.254" in caught.value.message
        assert len(server.requests) == 1


def test_proxies_from_the_environment_are_not_used(allow, monkeypatch):
    allow(LOOPBACK_ONLY)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    with serve({"/health": lambda seen: json_answer({"status": "UP"})}) as server:
        assert outbound.request("GET", f"{server.url}/health").json() == {"status": "UP"}


def test_basic_and_bearer_authentication_headers(allow):
    allow(LOOPBACK_ONLY)
    with serve({"/a": lambda seen: json_answer({})}) as server:
        outbound.request("GET", f"{server.url}/a", basic_auth=("ml", "pässword"))
        outbound.request("GET", f"{server.url}/a", bearer_token="sk-test")
    assert server.requests[0].headers["authorization"] == "Basic bWw6cMOkc3N3b3Jk"
    assert server.requests[1].headers["authorization"] == "Bearer sk-test"


# ---- TLS: the name in SNI and the certificate check, the connection to the checked address -----------


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (its own authority), made by the openssl command."""
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key_path), "-out", str(cert_path), "-days", "1", "-subj", f"/CN={name}",
         "-addext", f"subjectAltName=DNS:{name}", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path, settings, allow) -> Iterator:
    allow(LOOPBACK_ONLY)
    cert, key = _certificate(tmp_path, "ml.example")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    settings.TESSERA_OUTBOUND_CA_BUNDLE = str(cert)
    with serve({"/health": lambda seen: json_answer({"status": "UP"})}, tls=context) as server:
        yield server


def test_https_checks_the_certificate_against_the_name_not_the_address(tls_server):
    resolver = lambda host, port: ["127.0.0.1"]  # noqa: E731
    response = outbound.request("GET", f"https://ml.example:{tls_server.port}/health", resolver=resolver)
    assert response.json() == {"status": "UP"}
    assert tls_server.requests[-1].headers["host"] == f"ml.example:{tls_server.port}"
    # The same server under another name, or by its address: the certificate does not match.
    for url in (
        f"https://other.example:{tls_server.port}/health",
        f"https://127.0.0.1:{tls_server.port}/health",
    ):
        with pytest.raises(OutboundError) as caught:
            outbound.request("GET", url, resolver=resolver)
        assert caught.value.code == "tls_failed", url


def test_https_refuses_a_certificate_no_trusted_authority_signed(tls_server, settings):
    settings.TESSERA_OUTBOUND_CA_BUNDLE = ""  # certifi's authorities only
    with pytest.raises(OutboundError) as caught:
        outbound.request(
            "GET", f"https://ml.example:{tls_server.port}/health", resolver=lambda host, port: ["127.0.0.1"]
        )
    assert caught.value.code == "tls_failed"
