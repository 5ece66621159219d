"""Sandbox EHR authorization server pages and endpoints.

SMART App Launch 2.2: §conformance (smart-configuration), §app-launch (authorize, token, launch context),
§client-confidential-asymmetric, §backend-services; RFC 7662 (introspection), RFC 7009 (revocation),
RFC 9207 (`iss` in the authorization response).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from oauth2_provider.models import RefreshToken
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from apps.sandbox.grants import lookup_access_token
from apps.sandbox.oauth import directory, urlbase
from apps.sandbox.oauth.consent import describe_scope
from apps.sandbox.oauth.core import get_core
from apps.sandbox.oauth.keys import public_jwks
from apps.sandbox.oauth.models import EhrLaunch, SandboxUser
from apps.sandbox.oauth.scopes import parse_resource_scope
from apps.sandbox.oauth.validators import SmartOAuth2Validator, sha256

log = logging.getLogger(__name__)

SESSION_USER = "sandbox_user_id"
SESSION_TXN = "sandbox_authz"
MAX_PENDING = 10
TXN_SECONDS = 15 * 60
LAUNCH_SECONDS = 5 * 60
# Pages of the authorization flow may be framed by the EHR simulator (same origin), as EHRs embed apps.
FRAMEABLE_CSP = settings.CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors 'self'")


def _csp_with_form_targets(csp: str, *sources: str) -> str:
    """Browsers apply `form-action` to the redirects that follow a form POST too: a page whose form ends in a
    redirect to another origin (consent → the client's redirect URI) must name that origin."""
    return csp.replace("form-action 'self'", " ".join(["form-action 'self'", *sources]))


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""


def _public_json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


# --- discovery -------------------------------------------------------------------------------------------


@require_GET
def smart_configuration(request: HttpRequest) -> JsonResponse:
    """SMART App Launch 2.2 §conformance: exactly what this server supports."""
    urls = urlbase.endpoints(urlbase.origin_of(request))
    resource_types = sorted(
        [
            "Patient", "Observation", "Condition", "MedicationRequest", "AllergyIntolerance", "Immunization",
            "Encounter", "Procedure", "DiagnosticReport", "Practitioner", "Questionnaire", "QuestionnaireResponse",
        ]
    )  # fmt: skip
    scopes = ["openid", "fhirUser", "profile", "launch", "launch/patient", "launch/encounter"]
    scopes += ["offline_access", "online_access"]
    scopes += [f"patient/{t}.rs" for t in resource_types] + ["patient/*.rs", "user/*.rs", "system/*.rs"]
    scopes += ["patient/QuestionnaireResponse.cu", "patient/Observation.cu", "patient/*.read", "user/*.read"]
    return _public_json(
        {
            "issuer": urls["issuer"],
            "jwks_uri": urls["jwks"],
            "authorization_endpoint": urls["authorize"],
            "token_endpoint": urls["token"],
            "introspection_endpoint": urls["introspect"],
            "revocation_endpoint": urls["revoke"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "capabilities": [
                "launch-ehr",
                "launch-standalone",
                "client-public",
                "client-confidential-symmetric",
                "client-confidential-asymmetric",
                "context-ehr-patient",
                "context-ehr-encounter",
                "context-standalone-patient",
                "context-banner",
                "context-style",
                "authorize-post",
                "sso-openid-connect",
                "permission-offline",
                "permission-online",
                "permission-patient",
                "permission-user",
                "permission-v1",
                "permission-v2",
            ],
        }
    )


@require_GET
def openid_configuration(request: HttpRequest) -> JsonResponse:
    urls = urlbase.endpoints(urlbase.origin_of(request))
    return _public_json(
        {
            "issuer": urls["issuer"],
            "jwks_uri": urls["jwks"],
            "authorization_endpoint": urls["authorize"],
            "token_endpoint": urls["token"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "scopes_supported": ["openid", "fhirUser", "profile"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "fhirUser", "name"],
            "code_challenge_methods_supported": ["S256"],
        }
    )


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    response = _public_json(public_jwks())
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_GET
def style(request: HttpRequest) -> JsonResponse:
    """SMART App Launch 2.2 §styling: the style JSON named by `smart_style_url`."""
    response = _public_json(
        {
            "color_background": "#f4f7f6",
            "color_error": "#b3261e",
            "color_highlight": "#00796b",
            "color_modal_backdrop": "",
            "color_success": "#2e7d32",
            "color_text": "#1f2933",
            "dim_border_radius": "6px",
            "dim_font_size": "15px",
            "dim_spacing_size": "16px",
            "font_family_body": "'Noto Sans TC', 'Helvetica Neue', Arial, sans-serif",
            "font_family_heading": "'Noto Sans TC', 'Helvetica Neue', Arial, sans-serif",
        }
    )
    response["Cache-Control"] = "public, max-age=3600"
    return response


# --- sign-in ------------------------------------------------------------------------------------------------


def _signed_in(request: HttpRequest) -> SandboxUser | None:
    user_id = request.session.get(SESSION_USER)
    if not user_id:
        return None
    return SandboxUser.objects.select_related("user").filter(user_id=user_id, user__is_active=True).first()


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and value.startswith("/sandbox/") and url_has_allowed_host_and_scheme(value, allowed_hosts=None):
        return value
    return reverse("sandbox_oauth:ehr")


def demo_logins() -> list[dict]:
    """Generated at seed time (seed_sandbox_auth) and kept outside git, under DATA_DIR."""
    if not (settings.DEBUG or settings.SANDBOX_SHOW_LOGINS):
        return []
    path = settings.DATA_DIR / "sandbox_logins.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


@never_cache
@xframe_options_sameorigin
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    error = ""
    if request.method == "POST":
        username = request.POST.get("username", "")[:150]
        password = request.POST.get("password", "")[:256]
        user = authenticate(request, username=username, password=password)
        identity = SandboxUser.objects.filter(user=user).first() if user is not None else None
        if identity is not None and user.is_active:
            request.session.cycle_key()
            request.session[SESSION_USER] = user.pk
            return redirect(next_url)
        error = _("Unknown user name or wrong password.")
    response = render(
        request,
        "sandbox/oauth/login.html",
        {"next": next_url, "error": error, "logins": demo_logins(), "current": _signed_in(request)},
        status=400 if error else 200,
    )
    response["Content-Security-Policy"] = FRAMEABLE_CSP
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_USER, None)
    request.session.pop(SESSION_TXN, None)
    return redirect("sandbox_oauth:login")


# --- authorize --------------------------------------------------------------------------------------------------


def _with_iss(uri: str, issuer: str) -> str:
    """RFC 9207: the issuer in every authorization response, success or error."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "iss"]
    query.append(("iss", issuer))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _error_page(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    response = render(request, "sandbox/oauth/error.html", {"message": message}, status=status)
    response["Content-Security-Policy"] = FRAMEABLE_CSP
    return response


def _redirect_error(request: HttpRequest, error: oauth_errors.OAuth2Error, redirect_uri: str | None) -> HttpResponse:
    if not redirect_uri:
        return _error_page(request, error.description or error.error)
    issuer = urlbase.fhir_base(urlbase.origin_of(request))
    return HttpResponseRedirect(_with_iss(error.in_uri(redirect_uri), issuer))


def _headers(request: HttpRequest) -> dict:
    return get_core().extract_headers(request)


def _validate(request: HttpRequest, uri: str):
    """Run oauthlib's validation of the authorization request; returns (scopes, credentials) or a response."""
    try:
        return get_core().server.validate_authorization_request(uri, "GET", "", _headers(request))
    except oauth_errors.FatalClientError as exc:
        # Unknown client or redirect URI not registered exactly: never redirect (RFC 6749 §4.1.2.1).
        return _error_page(request, _("This app is not registered here, or its redirect URI does not match: %s")
                           % (exc.description or exc.error))  # fmt: skip
    except oauth_errors.OAuth2Error as exc:
        return _redirect_error(request, exc, exc.redirect_uri)


def _posted_authorize_uri(request: HttpRequest) -> str | None:
    """SMART App Launch 2.2 `authorize-post`: the same parameters as a form-encoded POST body. They are turned
    into the equivalent GET request URI, so validation, the stored transaction and the authorization response
    are exactly those of a GET (duplicate parameters stay duplicate, and oauthlib rejects them)."""
    content_type = request.content_type or ""
    if content_type != "application/x-www-form-urlencoded" or request.GET:
        return None
    query = urlencode(list(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)))
    return f"{request.scheme}://{request.get_host()}{request.path}?{query}"


@csrf_exempt  # authorize-post comes from the client's origin; state and PKCE protect it (SMART authorize-post)
@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """Validate the authorization request (GET, or POST for `authorize-post`), then continue in a per-request
    transaction (several tabs may run)."""
    if request.method == "POST":
        uri = _posted_authorize_uri(request)
        if uri is None:
            return _error_page(request, _("Send the authorization request as a form, without a query string."))
    else:
        uri = get_core()._get_escaped_full_path(request)
    params = dict(parse_qsl(urlsplit(uri).query, keep_blank_values=True))
    result = _validate(request, uri)
    if isinstance(result, HttpResponse):
        return result
    scopes, credentials = result
    redirect_uri, state = credentials.get("redirect_uri"), credentials.get("state")
    base = urlbase.fhir_base(urlbase.origin_of(request))
    if params.get("aud", "").rstrip("/") != base:
        error = oauth_errors.InvalidRequestError(description="aud must be this server's FHIR base URL", state=state)
        return _redirect_error(request, error, redirect_uri)
    launch_pk = None
    launch_value = params.get("launch")
    if launch_value:
        launch = EhrLaunch.objects.filter(
            launch_hash=sha256(launch_value), used_at=None, expires__gt=timezone.now()
        ).first()
        if launch is None:
            error = oauth_errors.InvalidRequestError(description="unknown, used or expired launch", state=state)
            return _redirect_error(request, error, redirect_uri)
        launch_pk = launch.pk
    elif "launch" in scopes:
        error = oauth_errors.InvalidScopeError(description="the launch scope needs a launch parameter", state=state)
        return _redirect_error(request, error, redirect_uri)
    pending = {
        k: v for k, v in request.session.get(SESSION_TXN, {}).items() if v.get("created", 0) > time.time() - TXN_SECONDS
    }
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["created"]))
    txn = secrets.token_urlsafe(16)
    pending[txn] = {"uri": uri, "launch": launch_pk, "patient": None, "created": time.time()}
    request.session[SESSION_TXN] = pending
    return redirect("sandbox_oauth:authorize-step", txn=txn)


def _needs_patient(scopes: list[str]) -> bool:
    if "launch/patient" in scopes:
        return True
    return any((parsed := parse_resource_scope(s)) is not None and parsed.context == "patient" for s in scopes)


@never_cache
@xframe_options_sameorigin
@require_http_methods(["GET", "POST"])
def authorize_step(request: HttpRequest, txn: str) -> HttpResponse:
    """Sign-in → patient picker (provider standalone launch) → consent → redirect with the code."""
    pending = request.session.get(SESSION_TXN, {})
    data = pending.get(txn)
    if not data or data.get("created", 0) < time.time() - TXN_SECONDS:
        return _error_page(request, _("This sign-in request has expired. Start again from the app."))
    result = _validate(request, data["uri"])
    if isinstance(result, HttpResponse):
        return result
    scopes, credentials = result
    redirect_uri, state = credentials.get("redirect_uri"), credentials.get("state")

    launch = None
    if data.get("launch"):
        launch = EhrLaunch.objects.filter(pk=data["launch"], used_at=None, expires__gt=timezone.now()).first()
        if launch is None:
            error = oauth_errors.InvalidRequestError(description="launch expired or already used", state=state)
            return _redirect_error(request, error, redirect_uri)
        # In an EHR launch the user is already signed in to the EHR (the simulator picked them).
        identity = SandboxUser.objects.select_related("user").filter(fhir_user=launch.fhir_user).first()
    else:
        identity = _signed_in(request)
    if identity is None:
        return redirect(f"{reverse('sandbox_oauth:login')}?{urlencode({'next': request.path})}")

    patient_id = encounter_id = ""
    need_banner = True
    picker = False
    if launch is not None:
        patient_id, encounter_id, need_banner = launch.patient_id, launch.encounter_id, launch.need_patient_banner
    elif not identity.is_practitioner:
        patient_id = identity.logical_id
    elif _needs_patient(scopes):
        patient_id = data.get("patient") or ""
        picker = not patient_id

    action = request.POST.get("action") if request.method == "POST" else None
    if action == "pick":
        chosen = request.POST.get("patient", "")[:64]
        if directory.get_patient(chosen) is None:
            return _error_page(request, _("No such patient."))
        data["patient"] = chosen
        request.session[SESSION_TXN] = pending
        return redirect("sandbox_oauth:authorize-step", txn=txn)
    if action == "deny":
        pending.pop(txn, None)
        request.session[SESSION_TXN] = pending
        return _redirect_error(request, oauth_errors.AccessDeniedError(state=state), redirect_uri)
    if action == "allow" and not picker:
        ticked = set(request.POST.getlist("scope"))
        granted = [s for s in scopes if s in ticked]
        if not granted:
            return _redirect_error(request, oauth_errors.AccessDeniedError(state=state), redirect_uri)
        if launch is not None and not EhrLaunch.objects.filter(pk=launch.pk, used_at=None).update(
            used_at=timezone.now()
        ):
            error = oauth_errors.InvalidRequestError(description="launch already used", state=state)
            return _redirect_error(request, error, redirect_uri)
        pending.pop(txn, None)
        request.session[SESSION_TXN] = pending
        credentials = {k: v for k, v in credentials.items() if k != "request"}
        credentials["user"] = identity.user
        credentials["smart_launch"] = {
            "fhir_user": identity.fhir_user,
            "patient_id": patient_id if _needs_patient(granted) or launch is not None else "",
            "encounter_id": encounter_id,
            "need_patient_banner": need_banner,
        }
        try:
            headers, _body, _status = get_core().server.create_authorization_response(
                uri=data["uri"], http_method="GET", headers=_headers(request), scopes=granted, credentials=credentials
            )
        except oauth_errors.FatalClientError as exc:
            return _error_page(request, exc.description or exc.error)
        except oauth_errors.OAuth2Error as exc:
            return _redirect_error(request, exc, redirect_uri)
        issuer = urlbase.fhir_base(urlbase.origin_of(request))
        return HttpResponseRedirect(_with_iss(headers["Location"], issuer))

    application = credentials["request"].client if credentials.get("request") is not None else None
    context = {
        "txn": txn,
        "identity": identity,
        "app_name": getattr(application, "name", "") or credentials.get("client_id"),
        "redirect_host": urlsplit(redirect_uri or "").netloc,
    }
    if picker:
        query = request.GET.get("q", "")[:100]
        context.update({"query": query, "patients": directory.search_patients(query)})
        template = "sandbox/oauth/picker.html"
    else:
        context.update(
            {
                "scopes": [(s, describe_scope(s)) for s in scopes],
                "patient": directory.get_patient(patient_id) if patient_id else None,
                "ehr_launch": launch is not None,
            }
        )
        template = "sandbox/oauth/consent.html"
    response = render(request, template, context)
    client_origin = _origin(redirect_uri)
    response["Content-Security-Policy"] = (
        _csp_with_form_targets(FRAMEABLE_CSP, client_origin) if client_origin else FRAMEABLE_CSP
    )
    return response


# --- token, introspection, revocation -------------------------------------------------------------------------


def _oauth_response(headers: dict, body: str, status: int) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    for key, value in headers.items():
        response[key] = value
    return _no_store(response)


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    _uri, headers, body, status = get_core().create_token_response(request)
    return _oauth_response(headers, body, status)


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """RFC 7009: the client authenticates as at the token endpoint; unknown tokens still get 200."""
    _uri, headers, body, status = get_core().create_revocation_response(request)
    return _oauth_response(headers, body or "", status)


def _authenticated_client(request: HttpRequest):
    core = get_core()
    oauthlib_request = OAuthlibRequest(
        core._get_escaped_full_path(request),
        http_method="POST",
        body=urlencode(core.extract_body(request)),
        headers=core.extract_headers(request),
    )
    oauthlib_request.sandbox_extra_audiences = [urlbase.absolute(urlbase.origin_of(request), "introspect")]
    validator = SmartOAuth2Validator()
    if validator.authenticate_client(oauthlib_request):
        return oauthlib_request.client
    return None


@csrf_exempt
@require_POST
def introspect(request: HttpRequest) -> HttpResponse:
    """RFC 7662 with SMART launch context (`patient`, `fhirUser`, `encounter`); confidential clients only."""
    client = _authenticated_client(request)
    if client is None:
        response = JsonResponse({"error": "invalid_client"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="sandbox"'
        return _no_store(response)
    value = request.POST.get("token", "")[:512]
    inactive = _no_store(JsonResponse({"active": False}))
    if not value:
        return inactive
    access = lookup_access_token(value)
    origin = urlbase.origin_of(request)
    if access is not None and not access.is_expired():
        context = getattr(access, "sandbox_context", None)
        body = {
            "active": True,
            "scope": access.scope,
            "client_id": access.application.client_id if access.application_id else "",
            "token_type": "Bearer",
            "exp": int(access.expires.timestamp()),
            "iat": int(access.created.timestamp()),
            "iss": urlbase.fhir_base(origin),
            "aud": urlbase.fhir_base(origin),
        }
        if access.user_id:
            body["sub"] = str(access.user_id)
        if context is not None:
            if context.patient_id:
                body["patient"] = context.patient_id
            if context.encounter_id:
                body["encounter"] = context.encounter_id
            if context.fhir_user:
                body["fhirUser"] = f"{urlbase.fhir_base(origin)}/{context.fhir_user}"
        return _no_store(JsonResponse(body))
    refresh = (
        RefreshToken.objects.select_related("application", "access_token")
        .filter(token_checksum=sha256(value), revoked__isnull=True)
        .first()
    )
    if refresh is not None and refresh.access_token is not None:
        body = {
            "active": True,
            "scope": refresh.access_token.scope,
            "client_id": refresh.application.client_id,
            "token_type": "refresh_token",
        }
        return _no_store(JsonResponse(body))
    return inactive


# --- EHR simulator --------------------------------------------------------------------------------------------


def _launch_target(launch_url: str, iss: str, launch: str) -> str:
    parts = urlsplit(launch_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in {"iss", "launch"}]
    query += [("iss", iss), ("launch", launch)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _valid_launch_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in {"http", "https"} and bool(parts.netloc) and len(value) <= 500 and "@" not in parts.netloc


@never_cache
@require_http_methods(["GET", "POST"])
def ehr_simulator(request: HttpRequest) -> HttpResponse:
    """Pick a practitioner, a patient and optionally a visit; launch the app with an opaque `launch` value."""
    practitioners = directory.list_practitioners()
    source = request.POST if request.method == "POST" else request.GET
    selected = {
        "practitioner": source.get("practitioner", "")[:64],
        "patient": source.get("patient", "")[:64],
        "encounter": source.get("encounter", "")[:64],
        "launch_url": source.get("launch_url", "")[:500] or f"{settings.PUBLIC_URL}/launch",
        "need_patient_banner": source.get("need_patient_banner") == "on",
        "embed": source.get("embed") == "on",
    }
    errors: list[str] = []
    frame_url = ""
    if request.method == "POST":
        if selected["practitioner"] not in {p.logical_id for p in practitioners}:
            errors.append(_("Choose a practitioner."))
        if directory.get_patient(selected["patient"]) is None:
            errors.append(_("Choose a patient."))
        elif selected["encounter"] and not directory.encounter_belongs_to(selected["encounter"], selected["patient"]):
            errors.append(_("That visit does not belong to the patient."))
        if not _valid_launch_url(selected["launch_url"]):
            errors.append(_("The launch URL must be an absolute http(s) URL."))
        if not errors:
            value = secrets.token_urlsafe(24)
            EhrLaunch.objects.create(
                launch_hash=sha256(value),
                fhir_user=f"Practitioner/{selected['practitioner']}",
                patient_id=selected["patient"],
                encounter_id=selected["encounter"],
                need_patient_banner=selected["need_patient_banner"],
                expires=timezone.now() + timedelta(seconds=LAUNCH_SECONDS),
            )
            target = _launch_target(selected["launch_url"], urlbase.fhir_base(urlbase.origin_of(request)), value)
            if not selected["embed"]:
                return HttpResponseRedirect(target)
            frame_url = target
    context = {
        "practitioners": practitioners,
        "patients": directory.search_patients(source.get("q", "")[:100]),
        "encounters": directory.list_encounters(selected["patient"]) if selected["patient"] else [],
        "selected": selected,
        "errors": errors,
        "frame_url": frame_url,
        "q": source.get("q", "")[:100],
    }
    response = render(request, "sandbox/ehr/simulator.html", context, status=400 if errors else 200)
    # The simulator's whole purpose is to launch whatever app URL the tester types in, on any origin.
    csp = _csp_with_form_targets(settings.CONTENT_SECURITY_POLICY, "http:", "https:")
    if frame_url:
        parts = urlsplit(frame_url)
        # The app in the frame sends its user straight back to this sandbox's authorize page: allow 'self' too.
        csp = f"{csp}; frame-src 'self' {parts.scheme}://{parts.netloc}"
    response["Content-Security-Policy"] = csp
    return response
