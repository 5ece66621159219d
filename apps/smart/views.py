"""SMART launch pages: /launch, standalone launch, the per-connection callback, the landing page, logout.

Embedding (decided for issue 5): an EHR shows CareLaunch in a cross-site iframe, where browsers refuse our
cookies (SameSite=Lax, third-party cookie blocking). So nothing after the launch depends on a cookie:
- the launch is bound to the browser by a cookie when the browser sends one, else by its address and
  user agent (see services.binding_matches);
- the session after the launch is reached through an opaque handle in the URL path
  (`/t/<slug>/app/<handle>/`), looked up by its keyed hash, bound the same way, expiring (idle + absolute).
  Responses carry `Referrer-Policy: no-referrer` so the handle never leaks through Referer, and
  `Cache-Control: no-store`. When cookies do work the Django session also gets the tenant and session id
  (`/app/` then works without the handle).
- `frame-ancestors` comes from the connection (EhrConnection.frame_ancestors) instead of the global DENY.
"""

from __future__ import annotations

import time
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.core.middleware import SESSION_TENANT_KEY
from apps.core.models import Tenant
from apps.smart import outbound, selectors, services
from apps.smart.binding import binding_for_request, session_for_request, set_binding_cookie
from apps.smart.errors import LaunchError
from apps.smart.fhir_client import FhirClient, FhirError, NeedsRelaunch
from apps.smart.models import LaunchMode, SmartSession
from apps.smart.ratelimit import limited

SESSION_SMART_KEY = "carelaunch_smart_session"


def _csp(frame_ancestors: str) -> str:
    origins = " ".join(frame_ancestors.split()) or "'none'"
    return settings.CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {origins}")


def _harden(response: HttpResponse, *, connection: Any = None, form_action: str = "") -> HttpResponse:
    """Launch pages: framable only by the connection's EHR, no Referer, never cached. `form_action`: one more
    origin the page's forms may submit to (the EHR's authorization endpoint, for authorize-post)."""
    csp = _csp(getattr(connection, "frame_ancestors", "") or "")
    if form_action:
        csp = csp.replace("form-action 'self'", f"form-action 'self' {form_action}")
    response["Content-Security-Policy"] = csp
    response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, no_store=True, private=True)
    return response


def timed(view):
    """Server-Timing: CareLaunch's own handling time vs time spent waiting on the EHR (bench/launch.py)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        started = time.perf_counter()
        with outbound.measuring() as box:
            response = view(request, *args, **kwargs)
        if settings.SMART_SERVER_TIMING:
            total = (time.perf_counter() - started) * 1000
            ehr = box[0] * 1000
            response["Server-Timing"] = f"app;dur={total - ehr:.2f}, ehr;dur={ehr:.2f}"
        return response

    return wrapper


def failure(request: HttpRequest, error: LaunchError, *, connection: Any = None) -> HttpResponse:
    """Every failure: a page in the user's language with a reference number (the request id, also in the audit)."""
    response = render(
        request,
        "smart/error.html",
        {"error": error, "reference": getattr(request, "request_id", "")},
        status=error.status,
    )
    return _harden(response, connection=connection)


def _to_authorize(request: HttpRequest, authorize: services.AuthorizeRequest, *, connection: Any) -> HttpResponse:
    """GET: a redirect. authorize-post: a page whose form POSTs the parameters to the EHR, submitted by
    static/smart/authorize-post.js (a "Continue" button without JavaScript). Browsers check `form-action` on the
    POST and on the redirects after it, so the CSP names the authorization endpoint's origin."""
    if not authorize.post:
        return _harden(HttpResponseRedirect(authorize.url), connection=connection)
    response = render(
        request,
        "smart/authorize_post.html",
        {"endpoint": authorize.endpoint, "params": sorted(authorize.params.items())},
    )
    return _harden(response, connection=connection, form_action=authorize.origin)


def rate_limited_response(request: HttpRequest, retry_after: int, bucket: str) -> HttpResponse:
    response = failure(request, LaunchError("rate_limited"))
    response["Retry-After"] = str(retry_after)
    return response


# --- launch ----------------------------------------------------------------------------------------------------


@require_GET
@xframe_options_exempt
@timed
@limited("launch", "SMART_RATE_LIMIT_LAUNCH")
def launch(request: HttpRequest) -> HttpResponse:
    """EHR launch (SMART App Launch 2.2 §app-launch "launch-ehr"): /launch?iss=…&launch=…"""
    try:
        connection = services.resolve_ehr_launch(iss=request.GET.get("iss", ""), launch=request.GET.get("launch", ""))
    except LaunchError as error:
        return failure(request, error)
    binding, new_cookie = binding_for_request(request)
    try:
        authorize = services.start_launch(
            connection=connection, mode=LaunchMode.EHR, binding=binding, launch=request.GET["launch"]
        )
    except LaunchError as error:
        return failure(request, error, connection=connection)
    response = _to_authorize(request, authorize, connection=connection)
    set_binding_cookie(response, new_cookie)
    return response


@require_GET
def choose_hospital(request: HttpRequest) -> HttpResponse:
    """Patients: pick your hospital, then sign in at its patient portal (standalone patient launch)."""
    return render(request, "smart/choose_hospital.html", {"tenants": selectors.tenants_offering_patient_launch()})


def _active_tenant(tenant_slug: str) -> Tenant:
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is None:
        raise Http404("No such tenant")
    return tenant


@require_GET
@xframe_options_exempt
@timed
@limited("launch", "SMART_RATE_LIMIT_LAUNCH")
def standalone_launch(request: HttpRequest, tenant_slug: str, mode: str) -> HttpResponse:
    """Standalone launch from a per-tenant URL, for patients or for providers (checklist L2)."""
    tenant = _active_tenant(tenant_slug)
    try:
        if tenant.status != Tenant.Status.ACTIVE:
            raise LaunchError("tenant_inactive")
        connection = services.standalone_connection(
            tenant=tenant, mode=mode, connection_id=request.GET.get("connection")
        )
    except LaunchError as error:
        return failure(request, error)
    binding, new_cookie = binding_for_request(request)
    try:
        authorize = services.start_launch(connection=connection, mode=mode, binding=binding, tenant=tenant)
    except LaunchError as error:
        return failure(request, error, connection=connection)
    response = _to_authorize(request, authorize, connection=connection)
    set_binding_cookie(response, new_cookie)
    return response


# --- callback --------------------------------------------------------------------------------------------------


CALLBACK_PARAMS = ("state", "code", "error", "error_description", "iss")


@require_GET
@xframe_options_exempt
@timed
@limited("callback", "SMART_RATE_LIMIT_CALLBACK")
def callback(request: HttpRequest, tenant_slug: str, connection_id: int) -> HttpResponse:
    """The redirect URI of one connection (`redirect_uri_for`): state, code exchange, id_token, session."""
    tenant = _active_tenant(tenant_slug)
    params = {name: request.GET.get(name, "")[:4096] for name in CALLBACK_PARAMS}
    binding, _new_cookie = binding_for_request(request)
    try:
        if tenant.status != Tenant.Status.ACTIVE:
            raise LaunchError("tenant_inactive")
        result = services.complete_launch(
            tenant=tenant, connection_id=int(connection_id), params=params, binding=binding
        )
    except LaunchError as error:
        return failure(request, error)
    if binding.presented and hasattr(request, "session"):
        # Only when this browser keeps our cookies (top level); inside an EHR's iframe the handle is all there is.
        request.session.cycle_key()
        request.session[SESSION_TENANT_KEY] = tenant.pk
        request.session[SESSION_SMART_KEY] = result.session.pk
    target = reverse("smart:app", kwargs={"tenant_slug": tenant.slug, "handle": result.handle})
    # The code and state are in this URL; the redirect carries no Referer and is never cached.
    return _harden(HttpResponseRedirect(target), connection=result.grant.connection)


# --- after launch ----------------------------------------------------------------------------------------------


def _landing(request: HttpRequest, session: SmartSession, *, handle: str = "") -> HttpResponse:
    grant = session.grant
    connection = grant.connection
    if not grant.is_active:
        return failure(request, LaunchError("needs_relaunch"), connection=connection)
    patient = None
    patient_error = ""
    show_banner = grant.need_patient_banner is not False
    if grant.patient:
        try:
            patient = selectors.patient_banner(FhirClient(grant).read("Patient", grant.patient))
        except NeedsRelaunch:
            return failure(request, LaunchError("needs_relaunch"), connection=connection)
        except FhirError as exc:
            patient_error = str(exc.status or "")
    context = {
        "grant": grant,
        "connection": connection,
        "tenant": request.tenant,
        "patient": patient,
        "patient_error": patient_error,
        "show_banner": show_banner and (patient is not None or bool(patient_error)),
        "granted": grant.granted_scope_list,
        "missing": grant.missing_scopes,
        "handle": handle,
    }
    request.phi_response = True
    return _harden(render(request, "smart/app.html", context), connection=connection)


@require_GET
@xframe_options_exempt
def app(request: HttpRequest, tenant_slug: str, handle: str) -> HttpResponse:
    try:
        session = session_for_request(request, handle)
    except LaunchError as error:
        return failure(request, error)
    return _landing(request, session, handle=handle)


@require_GET
def app_from_session(request: HttpRequest) -> HttpResponse:
    """/app/ for a top-level browser whose cookies work: the session after the last launch."""
    tenant_id = request.session.get(SESSION_TENANT_KEY)
    session_id = request.session.get(SESSION_SMART_KEY)
    session = None
    if tenant_id and session_id:
        session = services.session_by_id(tenant_id=int(tenant_id), session_id=int(session_id))
    if session is None:
        return failure(request, LaunchError("session_expired"))
    return _landing(request, session)


@csrf_exempt  # the unguessable handle in the path plays the CSRF token (no cookies inside an EHR iframe)
@require_POST
@xframe_options_exempt
def logout(request: HttpRequest, tenant_slug: str, handle: str) -> HttpResponse:
    try:
        session = session_for_request(request, handle)
    except LaunchError as error:
        return failure(request, error)
    actor = session.identity.user if session.identity else None
    services.end_session(tenant_id=request.tenant.pk, session=session, actor=actor)
    if hasattr(request, "session"):
        request.session.pop(SESSION_SMART_KEY, None)
    return _harden(render(request, "smart/signed_out.html"), connection=session.grant.connection)
