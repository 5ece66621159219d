from __future__ import annotations

import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

from apps.core.request_context import client_ip, client_ip_var, incoming_request_id, request_id_var
from apps.core.tenancy import all_tenants, tenant_scope

SESSION_TENANT_KEY = "carelaunch_tenant_id"


class RequestIdMiddleware:
    """Give every request an id (echoed as X-Request-ID) and remember the caller's address for audit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = incoming_request_id(request) or uuid.uuid4().hex
        request.client_ip = client_ip(request)
        id_token = request_id_var.set(request.request_id)
        ip_token = client_ip_var.set(request.client_ip)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(id_token)
            client_ip_var.reset(ip_token)
        response["X-Request-ID"] = request.request_id
        return response


class SecurityHeadersMiddleware:
    """CSP on every response; `no-store` on anything served to a signed-in user.

    Views that EHRs embed set their own `frame-ancestors` by putting a CSP header on the response first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or getattr(request, "phi_response", False):
            patch_cache_control(response, no_store=True, private=True)
        return response


class TenantScopeMiddleware:
    """Open the tenant scope for the view.

    The tenant comes from the URL (`tenant_slug` keyword, console and per-tenant pages) or from the
    session (after a SMART launch). A slug that names no tenant is a 404. Whether the user may act for
    that tenant is decided by the view (membership selectors), not here. The Django admin, for our
    staff only, is the one place that reads across tenants.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        from apps.core.models import Tenant

        request.tenant = None
        # The admin reads across tenants even for a staff member whose session also holds a SMART launch.
        if _is_staff_admin(request, view_func):
            return self._call_in_scope(all_tenants(), request, view_func, view_args, view_kwargs)
        tenant = None
        slug = view_kwargs.get("tenant_slug")
        if slug is not None:
            tenant = Tenant.objects.filter(slug=slug).first()
            if tenant is None:
                raise Http404("No such tenant")
        elif hasattr(request, "session") and request.session.get(SESSION_TENANT_KEY):
            tenant = Tenant.objects.filter(pk=request.session[SESSION_TENANT_KEY]).first()
        request.tenant = tenant
        if tenant is not None:
            return self._call_in_scope(tenant_scope(tenant), request, view_func, view_args, view_kwargs)
        return None

    @staticmethod
    def _call_in_scope(scope, request, view_func, view_args, view_kwargs):
        with scope:
            response = view_func(request, *view_args, **view_kwargs)
            # Lazy template responses must render while the scope is still open.
            if hasattr(response, "render") and callable(response.render):
                response = response.render()
        return response


def _is_staff_admin(request: HttpRequest, view_func) -> bool:
    user = getattr(request, "user", None)
    in_admin = request.resolver_match is not None and request.resolver_match.app_name == "admin"
    return in_admin and user is not None and user.is_active and user.is_staff
