"""SMART discovery: what an EHR's authorization server supports, fetched safely and cached.

SMART App Launch 2.2 §conformance: GET `{iss}/.well-known/smart-configuration` (Accept: application/json);
only when that document is absent (404/410) fall back to the CapabilityStatement at `{iss}/metadata`
and its `oauth-uris` security extension (older servers). Relative endpoint URLs resolve against the FHIR base.

Fetching is hardened because the URL comes from a hospital's form (SSRF): the host is resolved once, every
address checked (private, loopback, link-local, reserved and multicast are refused unless allowlisted) and
the connection is made to the checked address with the original host name kept for TLS (SNI, certificate
check) and the Host header, so a DNS answer that changes between check and connect (rebinding) cannot
slip through. Redirects are followed by hand (few, each re-checked), bodies are streamed up to a size
limit, and connect, read and total time are bounded.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import socket
import ssl
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("carelaunch.smart.discovery")

WELL_KNOWN_PATH = ".well-known/smart-configuration"
OAUTH_URIS_URL = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
ENDPOINT_KEYS = (
    "authorization_endpoint",
    "token_endpoint",
    "registration_endpoint",
    "management_endpoint",
    "introspection_endpoint",
    "revocation_endpoint",
    "jwks_uri",
    "user_access_brand_bundle",
)
# CapabilityStatement oauth-uris sub-extension → the .well-known key it corresponds to.
OAUTH_URIS_KEYS = {
    "authorize": "authorization_endpoint",
    "token": "token_endpoint",
    "register": "registration_endpoint",
    "manage": "management_endpoint",
    "introspect": "introspection_endpoint",
    "revoke": "revocation_endpoint",
}
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CACHE_PREFIX = "smart:discovery:v1"

MESSAGES = {
    "dns": _("The host name %(host)s could not be resolved (DNS lookup failed). Check the FHIR base URL."),
    "refused": _("The connection to %(host)s was refused. Is the server running, and is the port right?"),
    "timeout": _("%(host)s did not answer in time (timeout). Check the URL and any firewall between us."),
    "tls": _(
        "The secure (TLS) connection to %(host)s failed: %(reason)s. Check the server's certificate "
        "and that it speaks HTTPS on this port."
    ),
    "connection": _("The connection to %(host)s failed: %(reason)s."),
    "http_status": _("%(url)s answered with HTTP status %(status)s."),
    "not_json": _("%(url)s did not return a JSON document."),
    "no_token_endpoint": _("The SMART configuration has no token_endpoint."),
    "no_s256": _(
        "The server does not list S256 in code_challenge_methods_supported (PKCE). CareLaunch always uses "
        "PKCE S256; if your EHR supports it without advertising it, tick the override on the connection."
    ),
    "no_authorization_endpoint": _(
        "The SMART configuration has no authorization_endpoint, but a user-facing launch mode "
        "(EHR or standalone launch) is enabled."
    ),
    "blocked_address": _(
        "%(host)s resolves to a private, loopback or otherwise internal address (%(address)s), which "
        "CareLaunch does not contact. Ask us to allowlist an on-premise EHR."
    ),
    "bad_scheme": _("Refusing to fetch %(url)s: only HTTPS (or HTTP to an allowed loopback host) is used."),
    "too_many_redirects": _("Too many redirects (more than %(limit)s) while fetching %(url)s."),
    "too_large": _("The response from %(url)s is larger than %(limit)s bytes."),
}


class DiscoveryError(Exception):
    """A discovery failure with a stable `code` (for tests, audit and the UI) and a translated message."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = {key: str(value) for key, value in params.items()}
        super().__init__(code)

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code]) % self.params if self.params else str(MESSAGES[self.code])

    def __str__(self) -> str:
        return self.message


@dataclass
class DiscoveryResult:
    """What one discovery run found. JSON-serialisable (cached, stored on the connection)."""

    iss: str
    source: str  # "well-known" or "capability-statement"
    configuration: dict[str, Any]
    fetched_at: str
    fhir_version: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def capabilities(self) -> list[str]:
        return list(self.configuration.get("capabilities") or [])

    @property
    def code_challenge_methods(self) -> list[str]:
        return list(self.configuration.get("code_challenge_methods_supported") or [])

    @property
    def token_auth_methods(self) -> list[str]:
        return list(self.configuration.get("token_endpoint_auth_methods_supported") or [])

    @property
    def scopes_supported(self) -> list[str]:
        return list(self.configuration.get("scopes_supported") or [])

    @property
    def endpoints(self) -> dict[str, str]:
        return {key: self.configuration[key] for key in ENDPOINT_KEYS if self.configuration.get(key)}

    @property
    def authorization_endpoint(self) -> str:
        return self.configuration.get("authorization_endpoint", "")

    @property
    def token_endpoint(self) -> str:
        return self.configuration["token_endpoint"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscoveryResult:
        return cls(**data)


# --- guarded HTTP ---------------------------------------------------------------------------------------


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(item, strict=False) for item in settings.DISCOVERY_ALLOWED_NETWORKS]


def address_is_allowed(address: str, host: str) -> bool:
    """The SSRF policy for one resolved address of `host`."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if host.lower() in {h.lower() for h in settings.DISCOVERY_ALLOWED_HOSTS}:
        return True
    if any(ip in network for network in _allowed_networks()):
        return True
    if ip.is_loopback:
        return bool(settings.DISCOVERY_ALLOW_LOOPBACK)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_private)


def resolve_checked(host: str, port: int) -> str:
    """Resolve `host` and return one address to connect to; refuse if ANY address is not allowed.

    Refusing when any answer is internal (not just the first) stops round-robin tricks that mix a public
    and a private address.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DiscoveryError("dns", host=host) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise DiscoveryError("dns", host=host)
    for address in addresses:
        if not address_is_allowed(address, host):
            raise DiscoveryError("blocked_address", host=host, address=address)
    # Prefer IPv4 when both exist: fewer surprises behind hospital firewalls.
    addresses.sort(key=lambda a: ":" in a)
    return addresses[0]


def _scheme_allowed(scheme: str, host: str) -> bool:
    from apps.tenants.validation import is_loopback_host

    if scheme == "https":
        return True
    return scheme == "http" and settings.ALLOW_INSECURE_LOOPBACK_FHIR and is_loopback_host(host)


@dataclass
class _Response:
    url: str
    status: int
    body: bytes
    content_type: str


def _classify(exc: BaseException, host: str) -> DiscoveryError:
    reason = str(exc)
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = (
            current.__cause__
            or current.__context__
            or (current.reason if isinstance(getattr(current, "reason", None), BaseException) else None)
        )
    for item in chain:
        if isinstance(item, (urllib3.exceptions.SSLError, ssl.SSLError, ssl.CertificateError)):
            return DiscoveryError("tls", host=host, reason=str(item)[:200])
    for item in chain:
        if isinstance(item, ConnectionRefusedError) or (
            isinstance(item, urllib3.exceptions.NewConnectionError) and "refused" in str(item).lower()
        ):
            return DiscoveryError("refused", host=host)
    for item in chain:
        if isinstance(item, (urllib3.exceptions.TimeoutError, TimeoutError, socket.timeout)):
            return DiscoveryError("timeout", host=host)
    return DiscoveryError("connection", host=host, reason=reason[:200])


def guarded_get(url: str, *, accept: str, deadline: float | None = None) -> _Response:
    """GET `url` under the SSRF guard, following at most DISCOVERY_MAX_REDIRECTS re-checked redirects."""
    connect_timeout = float(settings.DISCOVERY_CONNECT_TIMEOUT)
    read_timeout = float(settings.DISCOVERY_READ_TIMEOUT)
    max_bytes = int(settings.DISCOVERY_MAX_BYTES)
    if deadline is None:
        deadline = time.monotonic() + connect_timeout + read_timeout
    for _hop in range(int(settings.DISCOVERY_MAX_REDIRECTS) + 1):
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "")
        if not host or not _scheme_allowed(scheme, host) or parts.username or parts.password:
            raise DiscoveryError("bad_scheme", url=url)
        port = parts.port or (443 if scheme == "https" else 80)
        address = resolve_checked(host, port)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DiscoveryError("timeout", host=host)
        timeout = urllib3.Timeout(connect=min(connect_timeout, remaining), read=min(read_timeout, remaining))
        host_header = parts.netloc.rsplit("@", 1)[-1]
        if scheme == "https":
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                server_hostname=host,
                assert_hostname=host,
                ssl_context=ssl.create_default_context(),
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False, maxsize=1)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            response = pool.urlopen(
                "GET",
                target,
                headers={"Host": host_header, "Accept": accept, "User-Agent": "CareLaunch-discovery/1"},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            pool.close()
            raise _classify(exc, host) from None
        except OSError as exc:
            pool.close()
            raise _classify(exc, host) from None
        try:
            if response.status in REDIRECT_STATUSES and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DiscoveryError("too_large", url=url, limit=max_bytes)
            chunks: list[bytes] = []
            size = 0
            try:
                # read1 returns what has arrived, so a slow drip cannot hold us past the deadline.
                while chunk := response.read1(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DiscoveryError("too_large", url=url, limit=max_bytes)
                    if time.monotonic() > deadline:
                        raise DiscoveryError("timeout", host=host)
                    chunks.append(chunk)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _classify(exc, host) from None
            return _Response(url, response.status, b"".join(chunks), response.headers.get("Content-Type", ""))
        finally:
            response.release_conn()
            pool.close()
    raise DiscoveryError("too_many_redirects", url=url, limit=settings.DISCOVERY_MAX_REDIRECTS)


# --- discovery ------------------------------------------------------------------------------------------


def _base(iss: str) -> str:
    return iss.rstrip("/") + "/"


def _json_object(response: _Response) -> dict[str, Any]:
    try:
        data = json.loads(response.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DiscoveryError("not_json", url=response.url) from None
    if not isinstance(data, dict):
        raise DiscoveryError("not_json", url=response.url)
    return data


def _resolve_endpoints(config: dict[str, Any], iss: str) -> dict[str, Any]:
    resolved = dict(config)
    for key in ENDPOINT_KEYS:
        value = resolved.get(key)
        if isinstance(value, str) and value:
            resolved[key] = urljoin(_base(iss), value)
        elif key in resolved and not isinstance(value, str):
            resolved.pop(key)
    return resolved


def _from_capability_statement(statement: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for rest in statement.get("rest") or []:
        security = (rest or {}).get("security") or {}
        for extension in security.get("extension") or []:
            if (extension or {}).get("url") != OAUTH_URIS_URL:
                continue
            for sub in extension.get("extension") or []:
                key = OAUTH_URIS_KEYS.get((sub or {}).get("url", ""))
                if key and isinstance(sub.get("valueUri"), str):
                    config[key] = sub["valueUri"]
    return config


def _fhir_version(statement: dict[str, Any]) -> str:
    value = statement.get("fhirVersion")
    return value if isinstance(value, str) else ""


def validate_configuration(
    config: dict[str, Any], *, user_facing: bool, allow_missing_s256: bool, iss: str = ""
) -> list[str]:
    """Raise DiscoveryError for a configuration CareLaunch cannot use; return warnings otherwise."""
    warnings: list[str] = []
    if not config.get("token_endpoint"):
        raise DiscoveryError("no_token_endpoint")
    methods = config.get("code_challenge_methods_supported") or []
    if "S256" not in methods:
        if not allow_missing_s256:
            raise DiscoveryError("no_s256")
        logger.warning("discovery: %s does not advertise PKCE S256; accepted by per-connection override", iss)
        warnings.append("s256_not_advertised")
    if user_facing and not config.get("authorization_endpoint"):
        raise DiscoveryError("no_authorization_endpoint")
    return warnings


def discover(iss: str, *, user_facing: bool = True, allow_missing_s256: bool = False) -> DiscoveryResult:
    """Fetch and validate the SMART configuration of the FHIR server at `iss` (no cache)."""
    deadline = time.monotonic() + float(settings.DISCOVERY_CONNECT_TIMEOUT) + 2 * float(settings.DISCOVERY_READ_TIMEOUT)
    warnings: list[str] = []
    fhir_version = ""
    response = guarded_get(urljoin(_base(iss), WELL_KNOWN_PATH), accept="application/json", deadline=deadline)
    if 200 <= response.status < 300:
        source = "well-known"
        config = _json_object(response)
    elif response.status in (404, 410):
        source = "capability-statement"
        metadata = guarded_get(urljoin(_base(iss), "metadata"), accept="application/fhir+json", deadline=deadline)
        if not 200 <= metadata.status < 300:
            raise DiscoveryError("http_status", url=metadata.url, status=metadata.status)
        statement = _json_object(metadata)
        config = _from_capability_statement(statement)
        fhir_version = _fhir_version(statement)
    else:
        raise DiscoveryError("http_status", url=response.url, status=response.status)
    config = _resolve_endpoints(config, iss)
    warnings += validate_configuration(config, user_facing=user_facing, allow_missing_s256=allow_missing_s256, iss=iss)
    if not fhir_version:
        # The FHIR version is shown to hospital IT; not knowing it is not a reason to fail.
        try:
            metadata = guarded_get(
                urljoin(_base(iss), "metadata"), accept="application/fhir+json", deadline=time.monotonic() + 5
            )
            if 200 <= metadata.status < 300:
                fhir_version = _fhir_version(_json_object(metadata))
        except DiscoveryError:
            pass
        if not fhir_version:
            warnings.append("fhir_version_unknown")
    return DiscoveryResult(
        iss=iss,
        source=source,
        configuration=config,
        fetched_at=timezone.now().isoformat(),
        fhir_version=fhir_version,
        warnings=warnings,
    )


# --- cache per connection -------------------------------------------------------------------------------


def cache_key(connection: Any) -> str:
    iss_hash = hashlib.sha256(connection.fhir_base_url.encode()).hexdigest()[:16]
    return f"{CACHE_PREFIX}:{connection.tenant_id}:{connection.pk}:{iss_hash}"


def get_configuration(connection: Any, *, refresh: bool = False) -> DiscoveryResult:
    """The SMART configuration of an EhrConnection, from the cache unless `refresh` (e.g. a launch failed).

    `connection` needs: pk, tenant_id, fhir_base_url, has_user_facing_launch, allow_missing_s256.
    Only successful results are cached; failures are re-tried on the next call.
    """
    key = cache_key(connection)
    if not refresh:
        cached = cache.get(key)
        if cached:
            return DiscoveryResult.from_dict(cached)
    result = discover(
        connection.fhir_base_url,
        user_facing=connection.has_user_facing_launch,
        allow_missing_s256=connection.allow_missing_s256,
    )
    cache.set(key, result.to_dict(), timeout=int(settings.DISCOVERY_CACHE_SECONDS))
    return result


def invalidate(connection: Any) -> None:
    cache.delete(cache_key(connection))
