"""What a bearer token presented to the sandbox FHIR API grants: the contract between the sandbox's
authorization server (apps.sandbox.oauth) and its FHIR API (apps.sandbox.fhir).

SMART App Launch 2.2 §scopes-and-launch-context: `patient/` scopes are confined to the launch patient,
`user/` scopes to what the signed-in user may see, `system/` scopes belong to backend services.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone


@dataclass(frozen=True)
class Grant:
    client_id: str
    scopes: frozenset[str]  # granted scope strings, e.g. "patient/Observation.rs", "launch/patient"
    patient_id: str | None  # logical id of the launch patient; patient/ scopes are confined to it
    fhir_user: str | None  # e.g. "Practitioner/pr-001" or "Patient/p-001"
    is_system: bool  # backend services (client_credentials)
    encounter_id: str | None = None
    expires_at: int | None = None  # seconds since the epoch


def _bearer_value(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value or len(value) > 512:
        return None
    return value


def lookup_access_token(value: str):
    """One indexed query: DOT 3 stores the SHA-256 of the token (`token_checksum`); context joined in."""
    from oauth2_provider.models import AccessToken

    checksum = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return AccessToken.objects.select_related("application", "sandbox_context").filter(token_checksum=checksum).first()


def grant_from_token(token) -> Grant | None:
    """Build the Grant of a live DOT AccessToken; None when expired (revoked tokens are deleted by DOT)."""
    if token is None or token.is_expired():
        return None
    context = getattr(token, "sandbox_context", None)
    return Grant(
        client_id=token.application.client_id if token.application_id else "",
        scopes=frozenset(token.scope.split()),
        patient_id=(context.patient_id or None) if context else None,
        fhir_user=(context.fhir_user or None) if context else None,
        is_system=bool(context and context.is_system),
        encounter_id=(context.encounter_id or None) if context else None,
        expires_at=int(token.expires.timestamp()),
    )


def grant_for_request(request: HttpRequest) -> Grant | None:
    """The Grant of the request's `Authorization: Bearer` token; None if missing, invalid, expired or revoked."""
    value = _bearer_value(request)
    if value is None:
        return None
    try:
        token = lookup_access_token(value)
    except Exception:
        return None
    return grant_from_token(token)


def issue_grant(
    *,
    client_id: str,
    scopes: str,
    patient_id: str | None = None,
    fhir_user: str | None = None,
    is_system: bool = False,
    expires_in: int = 3600,
    encounter_id: str | None = None,
) -> str:
    """Mint an access token directly (tests, benchmarks, the simulator); returns the bearer value.

    Creates a public Application named `client_id` when none exists. The token is stored as DOT stores any
    other (checksum lookup), so it can be introspected and revoked like one issued at the token endpoint.
    """
    from oauth2_provider.models import AccessToken, Application, set_token_value

    from apps.sandbox.oauth.models import TokenContext

    value = secrets.token_urlsafe(32)
    with transaction.atomic():
        application, _ = Application.objects.get_or_create(
            client_id=client_id,
            defaults={
                "name": client_id,
                "client_type": Application.CLIENT_PUBLIC,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "client_secret": "",
                "hash_client_secret": False,
                "redirect_uris": "",
            },
        )
        token = AccessToken(
            application=application,
            scope=" ".join(scopes.split()),
            expires=timezone.now() + timedelta(seconds=expires_in),
        )
        set_token_value(token, value)
        token.save()
        TokenContext.objects.create(
            access_token=token,
            patient_id=patient_id or "",
            fhir_user=fhir_user or "",
            encounter_id=encounter_id or "",
            is_system=is_system,
            need_patient_banner=False,
        )
    return value
