from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core import demo
from apps.core.health import run_checks


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """What CareLaunch is; in the demo, how a reviewer tries each flow and with which sign-ins."""
    context = {}
    if settings.SANDBOX_ENABLED and (settings.DEBUG or settings.SANDBOX_SHOW_LOGINS):
        context["demo"] = demo.read_logins()
        context["sandbox_url"] = settings.SANDBOX_PUBLIC_URL
    return render(request, "core/home.html", context)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database, no PHI."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache and broker, each named with its result."""
    healthy, checks = run_checks()
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
