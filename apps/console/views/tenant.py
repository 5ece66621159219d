"""A tenant's overview page: status, connections, registration values, keys."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.console.access import member_required
from apps.tenants import selectors


@require_GET
@member_required
def tenant_home(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    tenant = request.tenant
    return render(
        request,
        "console/tenant_home.html",
        {
            "tenant": tenant,
            "membership": request.membership,
            "connections": selectors.connections_for_tenant(tenant),
            "keys": selectors.keys_for_tenant(tenant),
            "jwks_url": selectors.jwks_url_for(tenant),
            "launch_url": selectors.launch_url(),
        },
    )
