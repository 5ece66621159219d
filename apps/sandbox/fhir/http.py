"""HTTP plumbing of the sandbox FHIR API: content negotiation, OperationOutcome errors, bearer auth, CORS.

FHIR R4 §http: JSON only here (`application/fhir+json`); 406 for an Accept we cannot satisfy, 415 for a body
in another format; every error is an OperationOutcome. RFC 6750 §3: `WWW-Authenticate: Bearer` on 401/403.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from apps.sandbox import scopes as smart_scopes
from apps.sandbox.grants import Grant, grant_for_request

logger = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = {"application/fhir+json", "application/json", "application/json+fhir", "*/*", "application/*"}
_FORMAT_JSON = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
REALM = 'Bearer realm="CareLaunch sandbox EHR"'
CORS_EXPOSE = "Location, ETag, Last-Modified, Content-Location, X-Progress, Retry-After, WWW-Authenticate"


class FhirError(Exception):
    """Raised anywhere below a view to answer with an OperationOutcome."""

    def __init__(
        self,
        status: int,
        diagnostics: str | list[str],
        *,
        code: str = "processing",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics if isinstance(diagnostics, str) else "; ".join(diagnostics))
        self.status = status
        self.diagnostics = [diagnostics] if isinstance(diagnostics, str) else diagnostics
        self.code = code
        self.headers = headers or {}

    def response(self) -> HttpResponse:
        response = outcome(self.status, self.diagnostics, code=self.code)
        for name, value in self.headers.items():
            response[name] = value
        return response


def json_response(body: Any, status: int = 200, content_type: str = FHIR_JSON) -> HttpResponse:
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return HttpResponse(text, status=status, content_type=f"{content_type}; charset=utf-8")


def outcome(status: int, diagnostics: list[str] | str, *, code: str = "processing") -> HttpResponse:
    """An OperationOutcome response. Diagnostics stay in English: FHIR clients parse and log them."""
    if isinstance(diagnostics, str):
        diagnostics = [diagnostics]
    severity = "information" if status < 400 else "error"
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": text} for text in diagnostics],
    }
    return json_response(body, status)


def fhir_base(request: HttpRequest) -> str:
    """The absolute FHIR base URL on the host and port the request came to, ending with a slash."""
    return request.build_absolute_uri(reverse("sandbox_fhir:metadata")).removesuffix("metadata")


def _accepts_json(request: HttpRequest) -> bool:
    fmt = request.GET.get("_format")
    if fmt:
        return fmt.split(";")[0].strip().lower() in _FORMAT_JSON
    header = request.META.get("HTTP_ACCEPT", "").strip()
    if not header:
        return True
    for part in header.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media.lower() in _JSON_TYPES and q > 0:
            return True
    return False


def _body_media_type(request: HttpRequest) -> str:
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def fhir_view(
    *methods: str, accept: Callable[[HttpRequest], bool] = _accepts_json
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Wrap a FHIR API view: method check, content negotiation, FhirError -> OperationOutcome, CORS, no-store."""

    allowed = set(methods)

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt  # Bearer-token API: no cookies are honoured, so there is nothing to forge.
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.phi_response = True  # SecurityHeadersMiddleware then marks it no-store
            if request.method == "OPTIONS":
                response = HttpResponse(status=204)
                response["Access-Control-Allow-Methods"] = ", ".join(sorted(allowed | {"OPTIONS"}))
                response["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept, Prefer"
                response["Access-Control-Max-Age"] = "600"
            else:
                response = _dispatch(view, allowed, accept, request, *args, **kwargs)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = CORS_EXPOSE
            return response

        return wrapper

    return decorate


def _dispatch(view, allowed, accept, request, *args, **kwargs) -> HttpResponse:
    try:
        if request.method not in allowed:
            raise FhirError(
                405,
                f"{request.method} is not supported here",
                code="not-supported",
                headers={"Allow": ", ".join(sorted(allowed))},
            )
        if not accept(request):
            raise FhirError(406, "This server only produces application/fhir+json", code="not-supported")
        if request.method in ("POST", "PUT") and request.body:
            media = _body_media_type(request)
            form_ok = request.path.endswith("/_search") and media == "application/x-www-form-urlencoded"
            if media not in ("application/fhir+json", "application/json", "application/json+fhir") and not form_ok:
                raise FhirError(415, "Send application/fhir+json", code="not-supported")
        return view(request, *args, **kwargs)
    except FhirError as error:
        return error.response()
    except Exception:
        logger.exception("Sandbox FHIR API error on %s %s", request.method, request.path)
        return outcome(500, "Internal server error", code="exception")


def require_grant(request: HttpRequest) -> Grant:
    grant = grant_for_request(request)
    if grant is None:
        presented = request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("bearer ")
        challenge = f'{REALM}, error="invalid_token"' if presented else REALM
        raise FhirError(
            401,
            "A valid bearer token is required" if not presented else "The bearer token is invalid or expired",
            code="login",
            headers={"WWW-Authenticate": challenge},
        )
    return grant


def authorize(request: HttpRequest, resource_type: str, interaction: str) -> tuple[Grant, smart_scopes.Decision]:
    """The request's grant and what it may do with `resource_type`; 401/403 FhirError otherwise."""
    grant = require_grant(request)
    decision = smart_scopes.decide(
        scopes=grant.scopes,
        resource_type=resource_type,
        interaction=interaction,
        patient_id=grant.patient_id,
        is_system=grant.is_system,
    )
    if not decision.allowed:
        raise FhirError(
            403,
            f"The granted scopes do not allow {interaction} on {resource_type}",
            code="forbidden",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope"'},
        )
    return grant, decision
