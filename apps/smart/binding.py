"""Which browser is this? Launch state and the post-launch session are bound to the browser that started them.

A long-lived random cookie identifies the browser when it sends one; inside an EHR's cross-site iframe, where
browsers refuse our cookies, the binding falls back to the client address and user agent (see
services.binding_matches).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.smart import services
from apps.smart.models import SmartSession

BINDING_COOKIE = "carelaunch_browser"
BINDING_COOKIE_AGE = 30 * 24 * 60 * 60


def binding_for_request(request: HttpRequest) -> tuple[services.Binding, str | None]:
    """(binding, a new cookie value to set, or None when the browser presented a well-formed one)."""
    presented = request.COOKIES.get(BINDING_COOKIE, "")
    valid = 32 <= len(presented) <= 64 and presented.replace("-", "").replace("_", "").isalnum()
    value = presented if valid else secrets.token_urlsafe(32)
    binding = services.binding_for(
        cookie_value=value,
        presented=valid,
        client_ip=getattr(request, "client_ip", "") or "",
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return binding, None if valid else value


def set_binding_cookie(response: HttpResponse, value: str | None) -> None:
    if value:
        response.set_cookie(
            BINDING_COOKIE,
            value,
            max_age=BINDING_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=settings.PUBLIC_URL.startswith("https://"),
        )


def session_for_request(request: HttpRequest, handle: str) -> SmartSession:
    """The session behind the URL handle, for the URL's tenant and this browser (raises LaunchError otherwise)."""
    binding, _new_cookie = binding_for_request(request)
    return services.session_for_handle(tenant=request.tenant, handle=handle, binding=binding)
