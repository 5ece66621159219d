"""Public per-tenant endpoints (no sign-in): the JWKS that EHRs fetch to verify our client assertions."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from apps.core.models import Tenant
from apps.tenants import selectors


@require_GET
def jwks(request: HttpRequest, tenant_slug: str) -> JsonResponse:
    """RFC 7517 JWK Set of the tenant's active and retiring public keys (SMART checklist B2).

    Served for pending tenants too (hospital IT registers the JWKS URL at the EHR before our approval);
    a suspended tenant's keys are withdrawn (404) so the EHR stops accepting its assertions.
    """
    tenant = request.tenant
    if tenant is None or tenant.status == Tenant.Status.SUSPENDED:
        raise Http404("No such tenant")
    response = JsonResponse(selectors.jwks_for_tenant(tenant), content_type="application/jwk-set+json")
    patch_cache_control(response, public=True, max_age=int(settings.TENANT_JWKS_MAX_AGE))
    response["Access-Control-Allow-Origin"] = "*"
    return response
