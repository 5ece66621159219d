"""Outbound HTTP to EHRs (token, JWKS, revocation, FHIR): checked destinations, timeouts, timing.

Every URL we call comes from an EHR's discovery document; before calling it the host goes through the same
SSRF policy as discovery (apps.smart.discovery.resolve_checked). Redirects are never followed: OAuth
endpoints do not redirect, and a redirect could take a bearer token to another host.

Time spent waiting on the EHR is added to a per-request accumulator so CareLaunch can report its own
handling time separately (Server-Timing, bench/launch.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from apps.smart import discovery

_outbound: ContextVar[list[float] | None] = ContextVar("smart_outbound_seconds", default=None)
_session = requests.Session()
_session.trust_env = False  # no proxies from the environment: we only talk to the EHRs we were told about


class OutboundError(Exception):
    """The destination is not allowed or the request failed at the transport level."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@contextmanager
def measuring() -> Iterator[list[float]]:
    """Collect the seconds spent in outbound calls made inside the block (for Server-Timing)."""
    box = [0.0]
    token = _outbound.set(box)
    try:
        yield box
    finally:
        _outbound.reset(token)


@contextmanager
def outbound_timer() -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        box = _outbound.get()
        if box is not None:
            box[0] += time.perf_counter() - started


def check_destination(url: str) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    scheme = parts.scheme.lower()
    if not host or parts.username or parts.password or not discovery._scheme_allowed(scheme, host):
        raise OutboundError("bad_scheme")
    try:
        discovery.resolve_checked(host, parts.port or (443 if scheme == "https" else 80))
    except discovery.DiscoveryError as exc:
        raise OutboundError(exc.code) from None


def timeouts() -> tuple[float, float]:
    return float(settings.SMART_HTTP_CONNECT_TIMEOUT), float(settings.SMART_HTTP_READ_TIMEOUT)


def request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One outbound request to an EHR: destination checked, timeouts, no redirects, timed."""
    with outbound_timer():
        check_destination(url)
        kwargs.setdefault("timeout", timeouts())
        kwargs.setdefault("allow_redirects", False)
        headers = {"User-Agent": "CareLaunch/1", **kwargs.pop("headers", {})}
        try:
            return _session.request(method, url, headers=headers, **kwargs)
        except requests.Timeout:
            raise OutboundError("timeout") from None
        except requests.RequestException as exc:
            raise OutboundError(type(exc).__name__) from None
