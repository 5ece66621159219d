"""SMART discovery against a real HTTP server on 127.0.0.1 serving each faulty response (SMART checklist C1-C4)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import SimpleNamespace

import pytest
from django.utils import translation

from apps.smart import discovery
from apps.smart.discovery import DiscoveryError, discover
from tests.tenants.discovery_server import Reply, capability_statement, running_ehr, smart_configuration

WELL_KNOWN = "/fhir/.well-known/smart-configuration"


@pytest.fixture
def ehr():
    with running_ehr() as server:
        yield server


def error_of(iss: str, **kwargs) -> DiscoveryError:
    with pytest.raises(DiscoveryError) as info:
        discover(iss, **kwargs)
    return info.value


def test_well_known_is_fetched_with_accept_json_and_relative_endpoints_resolve(ehr):
    ehr.serve_smart()
    result = discover(ehr.fhir())
    assert result.source == "well-known"
    assert result.token_endpoint == f"{ehr.base}/fhir/auth/token"
    assert result.authorization_endpoint == f"{ehr.base}/fhir/auth/authorize"
    assert "S256" in result.code_challenge_methods
    assert result.fhir_version == "4.0.1"
    path, headers = ehr.requests[0]
    assert path == WELL_KNOWN
    assert headers["Accept"] == "application/json"


def test_absolute_endpoints_are_kept(ehr):
    ehr.serve_smart(token_endpoint="https://auth.example.org/token")
    assert discover(ehr.fhir()).token_endpoint == "https://auth.example.org/token"


def test_falls_back_to_capability_statement_only_when_well_known_is_absent(ehr):
    ehr.routes["/fhir/metadata"] = Reply(200, capability_statement(ehr.fhir()))
    result = discover(ehr.fhir(), allow_missing_s256=True)
    assert result.source == "capability-statement"
    assert result.token_endpoint == f"{ehr.base}/fhir/oauth/token"
    assert result.fhir_version == "4.0.1"
    assert "s256_not_advertised" in result.warnings


@pytest.mark.parametrize("status", [404, 410])
def test_fallback_on_404_and_410(ehr, status):
    ehr.routes[WELL_KNOWN] = Reply(status, {"error": "gone"})
    ehr.routes["/fhir/metadata"] = Reply(200, capability_statement(ehr.fhir()))
    assert discover(ehr.fhir(), allow_missing_s256=True).source == "capability-statement"


def test_no_fallback_on_server_error(ehr):
    ehr.routes[WELL_KNOWN] = Reply(500, {"error": "boom"})
    ehr.routes["/fhir/metadata"] = Reply(200, capability_statement(ehr.fhir()))
    error = error_of(ehr.fhir())
    assert error.code == "http_status"
    assert "500" in error.message
    assert [path for path, _ in ehr.requests] == [WELL_KNOWN]


def test_dns_failure():
    error = error_of("https://no-such-ehr.invalid/fhir")
    assert error.code == "dns"
    assert "no-such-ehr.invalid" in error.message


def test_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    assert error_of(f"http://127.0.0.1:{port}/fhir").code == "refused"


def test_timeout(ehr, settings):
    settings.DISCOVERY_READ_TIMEOUT = 0.3
    ehr.routes[WELL_KNOWN] = Reply(200, smart_configuration(), sleep=1.0)
    assert error_of(ehr.fhir()).code == "timeout"


def test_tls_error_when_server_speaks_plain_http(ehr):
    ehr.serve_smart()
    error = error_of(f"https://127.0.0.1:{ehr.port}/fhir")
    assert error.code == "tls"


def test_http_error_status(ehr):
    ehr.routes[WELL_KNOWN] = Reply(403, {"error": "forbidden"})
    error = error_of(ehr.fhir())
    assert error.code == "http_status"
    assert "403" in error.message


def test_not_json(ehr):
    ehr.routes[WELL_KNOWN] = Reply(200, "<html>sign in</html>")
    assert error_of(ehr.fhir()).code == "not_json"


def test_json_array_is_not_a_configuration(ehr):
    ehr.routes[WELL_KNOWN] = Reply(200, ["token_endpoint"])
    assert error_of(ehr.fhir()).code == "not_json"


def test_no_token_endpoint(ehr):
    ehr.serve_smart(token_endpoint=None)
    assert error_of(ehr.fhir()).code == "no_token_endpoint"


def test_no_s256(ehr):
    ehr.serve_smart(code_challenge_methods_supported=["plain"])
    assert error_of(ehr.fhir()).code == "no_s256"


def test_no_s256_accepted_with_override_and_logged(ehr, caplog):
    ehr.serve_smart(code_challenge_methods_supported=None)
    result = discover(ehr.fhir(), allow_missing_s256=True)
    assert "s256_not_advertised" in result.warnings
    assert any("S256" in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


def test_no_authorization_endpoint_with_user_facing_launch(ehr):
    ehr.serve_smart(authorization_endpoint=None)
    assert error_of(ehr.fhir(), user_facing=True).code == "no_authorization_endpoint"
    # Backend services only: no authorization endpoint needed.
    assert discover(ehr.fhir(), user_facing=False).token_endpoint


def test_each_failure_has_its_own_message_in_both_languages():
    params = {"host": "h", "url": "u", "status": 500, "reason": "r", "address": "a", "limit": 1}
    codes = [
        "dns",
        "refused",
        "timeout",
        "tls",
        "http_status",
        "not_json",
        "no_token_endpoint",
        "no_s256",
        "no_authorization_endpoint",
    ]
    english, chinese = set(), set()
    for code in codes:
        error = DiscoveryError(code, **params)
        with translation.override("en"):
            english.add(str(error))
        with translation.override("zh-hant"):
            text = str(error)
            chinese.add(text)
            assert any("\u4e00" <= ch <= "\u9fff" for ch in text), (code, text)
    assert len(english) == len(codes)
    assert len(chinese) == len(codes)


def test_redirects_are_followed_and_limited(ehr, settings):
    ehr.serve_smart(prefix="/real")
    ehr.routes[WELL_KNOWN] = Reply(302, b"", {"Location": "/real/.well-known/smart-configuration"})
    assert discover(ehr.fhir(), allow_missing_s256=False).token_endpoint.endswith("/fhir/auth/token")
    settings.DISCOVERY_MAX_REDIRECTS = 3
    for hop in range(5):
        ehr.routes[f"/loop{hop}"] = Reply(302, b"", {"Location": f"/loop{hop + 1}"})
    ehr.routes[WELL_KNOWN] = Reply(302, b"", {"Location": "/loop0"})
    assert error_of(ehr.fhir()).code == "too_many_redirects"


def test_redirect_to_blocked_address_is_refused(ehr, settings):
    ehr.routes[WELL_KNOWN] = Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data"})
    error = error_of(ehr.fhir())
    assert error.code in {"blocked_address", "bad_scheme"}


def test_response_size_is_limited_even_without_content_length(settings):
    settings.DISCOVERY_MAX_BYTES = 1000
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(OSError):
            conn.sendall(b"{" + b" " * 100_000)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert error_of(f"http://127.0.0.1:{port}/fhir").code == "too_large"
    listener.close()


def test_declared_oversize_response_is_refused(ehr, settings):
    settings.DISCOVERY_MAX_BYTES = 100
    ehr.serve_smart(padding="x" * 500)
    assert error_of(ehr.fhir()).code == "too_large"


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "172.16.1.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "::ffff:10.0.0.1", "fe80::1"],
)
def test_ssrf_guard_refuses_internal_addresses(address, settings):
    assert discovery.address_is_allowed(address, "ehr.example.org") is False


def test_ssrf_guard_loopback_only_when_allowed(settings):
    settings.DISCOVERY_ALLOW_LOOPBACK = False
    assert discovery.address_is_allowed("127.0.0.1", "localhost") is False
    assert discovery.address_is_allowed("::1", "localhost") is False
    settings.DISCOVERY_ALLOW_LOOPBACK = True
    assert discovery.address_is_allowed("127.0.0.1", "localhost") is True


def test_ssrf_allowlist_for_on_premise_ehr(settings):
    settings.DISCOVERY_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    settings.DISCOVERY_ALLOWED_HOSTS = ["ehr.hospital.internal"]
    assert discovery.address_is_allowed("10.20.3.4", "x.example.org") is True
    assert discovery.address_is_allowed("10.21.3.4", "x.example.org") is False
    assert discovery.address_is_allowed("192.168.0.9", "ehr.hospital.internal") is True


def test_public_addresses_pass():
    assert discovery.address_is_allowed("93.184.216.34", "example.org") is True


def test_production_guard_refuses_loopback_before_connecting(ehr, settings):
    settings.DISCOVERY_ALLOW_LOOPBACK = False
    ehr.serve_smart()
    assert error_of(ehr.fhir()).code == "blocked_address"
    assert ehr.requests == []


def test_dns_rebinding_cannot_switch_address_after_the_check(ehr, monkeypatch):
    """The connection goes to the address that was checked, whatever a later lookup would answer."""
    ehr.serve_smart()
    lookups = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host == "localhost":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    error_or_result = None
    try:
        error_or_result = discover(f"http://localhost:{ehr.port}/fhir")
    except DiscoveryError as exc:  # a second lookup answering 10.0.0.1 must be refused, never connected to
        error_or_result = exc
    assert ehr.requests, "the checked address (127.0.0.1) was contacted"
    assert ehr.requests[0][1]["Host"] == f"localhost:{ehr.port}"
    # Every request made after a lookup that answered 10.0.0.1 was refused by the guard, not sent there.
    if isinstance(error_or_result, DiscoveryError):
        assert error_or_result.code == "blocked_address"


def test_plain_http_refused_for_non_loopback_hosts(settings):
    assert error_of("http://ehr.example.org/fhir").code == "bad_scheme"


def test_cache_per_connection(ehr):
    ehr.serve_smart()
    connection = SimpleNamespace(
        pk=7, tenant_id=1, fhir_base_url=ehr.fhir(), has_user_facing_launch=True, allow_missing_s256=False
    )
    first = discovery.get_configuration(connection)
    count = len(ehr.requests)
    second = discovery.get_configuration(connection)
    assert second.to_dict() == first.to_dict()
    assert len(ehr.requests) == count  # served from the cache
    discovery.get_configuration(connection, refresh=True)
    assert len(ehr.requests) > count
    other = SimpleNamespace(**{**vars(connection), "pk": 8})
    discovery.get_configuration(other)
    assert len(ehr.requests) > count + 1


def test_total_time_is_bounded_for_a_slow_drip(settings):
    """A server that sends a byte at a time just under the read timeout still hits the overall deadline."""
    settings.DISCOVERY_CONNECT_TIMEOUT = 0.2
    settings.DISCOVERY_READ_TIMEOUT = 0.3
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{")
            while not stop.is_set():
                conn.sendall(b" ")
                time.sleep(0.1)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        assert error_of(f"http://127.0.0.1:{port}/fhir").code == "timeout"
    finally:
        stop.set()
        listener.close()
