"""Checks on what hospital IT types in: the FHIR base URL (the SMART `iss`) above all."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_loopback_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_fhir_base_url(raw: str) -> str:
    """Return the one canonical form of a FHIR base URL, or raise ValidationError.

    Canonical: lower-case scheme and host, default port dropped, no trailing slash, no query, fragment
    or credentials. Every comparison of an `iss` (SMART App Launch §launch: iss must match exactly)
    goes through this, so `https://EHR.example.org:443/fhir/` and `https://ehr.example.org/fhir` are one.
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationError(_("Enter the FHIR base URL."), code="required")
    if any(ch.isspace() for ch in value) or any(ord(ch) < 32 for ch in value):
        raise ValidationError(_("The FHIR base URL must not contain spaces or control characters."), code="invalid")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(_("Enter a valid URL, such as https://ehr.example.org/fhir."), code="invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter a valid URL, such as https://ehr.example.org/fhir."), code="invalid")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(_("The FHIR base URL must not contain a user name or password."), code="userinfo")
    if parts.fragment or value.endswith("#"):
        raise ValidationError(_("The FHIR base URL must not contain a fragment (#…)."), code="fragment")
    if parts.query or "?" in value:
        raise ValidationError(_("The FHIR base URL must not contain a query string (?…)."), code="query")
    host = parts.hostname.lower()
    if scheme == "http" and not (settings.ALLOW_INSECURE_LOOPBACK_FHIR and is_loopback_host(host)):
        raise ValidationError(_("The FHIR base URL must use HTTPS."), code="https_required")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if "/../" in f"{path}/" or "/./" in f"{path}/":
        raise ValidationError(_("The FHIR base URL must not contain '.' or '..' path segments."), code="invalid")
    return urlunsplit((scheme, netloc, path, "", ""))


def same_iss(a: str, b: str) -> bool:
    """True when two FHIR base URLs name the same server (after normalising)."""
    try:
        return normalize_fhir_base_url(a) == normalize_fhir_base_url(b)
    except ValidationError:
        return False


def normalize_scopes(raw: str) -> str:
    scopes = (raw or "").split()
    for scope in scopes:
        if not all(33 <= ord(ch) <= 126 and ch not in '"\\' for ch in scope):
            raise ValidationError(_("Scopes may contain only printable ASCII characters."), code="invalid")
    # Keep the order given, drop duplicates.
    return " ".join(dict.fromkeys(scopes))


def normalize_origins(raw: str) -> str:
    """Frame ancestors: a space-separated list of https origins (http only for loopback when allowed)."""
    origins = []
    for item in (raw or "").replace(",", " ").split():
        try:
            parts = urlsplit(item)
            port = parts.port
        except ValueError:
            raise ValidationError(_("'%(origin)s' is not a valid origin."), params={"origin": item}) from None
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        bad_shape = (
            scheme not in ("http", "https")
            or not host
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
        )
        if bad_shape:
            raise ValidationError(
                _("'%(origin)s' is not an origin (scheme://host[:port]).") % {"origin": item}, code="invalid"
            )
        if scheme == "http" and not (settings.ALLOW_INSECURE_LOOPBACK_FHIR and is_loopback_host(host)):
            raise ValidationError(_("Frame ancestors must use HTTPS."), code="https_required")
        netloc = f"[{host}]" if ":" in host else host
        if port is not None and port != DEFAULT_PORTS[scheme]:
            netloc = f"{netloc}:{port}"
        origins.append(f"{scheme}://{netloc}")
    return " ".join(dict.fromkeys(origins))
