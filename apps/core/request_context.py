"""Per-request facts (request id, client address) that services such as the audit log need.

Kept in context variables so a service deep in the call stack does not need the request passed down.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
client_ip_var: ContextVar[str] = ContextVar("client_ip", default="")

_REQUEST_ID_FORMAT = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or the entry our trusted proxies appended to X-Forwarded-For."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


def incoming_request_id(request: HttpRequest) -> str | None:
    """An upstream X-Request-ID when it looks like one (it ends up in logs, so it is checked)."""
    candidate = request.META.get("HTTP_X_REQUEST_ID", "")
    return candidate if _REQUEST_ID_FORMAT.match(candidate) else None
