"""Who is looking at which patient: the SMART session behind the URL handle (apps.smart), as the engagement
pages need it. Every patient id comes from the grant's launch context, never from the URL (SMART checklist R5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest

from apps.smart.binding import session_for_request
from apps.smart.errors import LaunchError
from apps.smart.models import LaunchMode, SmartSession, TokenGrant


@dataclass
class Context:
    tenant: Any
    session: SmartSession
    grant: TokenGrant
    handle: str
    role: str  # clinician | patient

    @property
    def patient_id(self) -> str:
        return self.grant.patient

    @property
    def patient_ref(self) -> str:
        """The patient as stored in CareLaunch: the EHR's base URL + Patient/<id> (ids are unique per EHR)."""
        return f"{self.grant.fhir_base_url.rstrip('/')}/Patient/{self.grant.patient}"

    @property
    def actor(self) -> Any:
        identity = self.session.identity
        return identity.user if identity is not None else None

    @property
    def is_clinician(self) -> bool:
        return self.role == "clinician"

    @property
    def show_banner(self) -> bool:
        return self.grant.need_patient_banner is not False


def role_for(grant: TokenGrant) -> str:
    """Practitioner (or a provider launch) → clinician; Patient / RelatedPerson (or a patient launch) → patient."""
    kind = grant.fhir_user.rstrip("/").split("/")[-2] if grant.fhir_user.count("/") >= 1 else ""
    if kind in ("Practitioner", "PractitionerRole"):
        return "clinician"
    if kind in ("Patient", "RelatedPerson", "Person"):
        return "patient"
    return "patient" if grant.mode == LaunchMode.PATIENT else "clinician"


class Relaunch(Exception):
    """The grant behind the session cannot be used any more."""


def context_for(request: HttpRequest, handle: str) -> Context:
    """The session of this tenant (from the URL slug) behind `handle`, for this browser; 404 otherwise —
    another tenant's handle, an unknown or expired one, or a session with no patient in context."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or not tenant.is_active:
        raise Http404("No such session")
    try:
        session = session_for_request(request, handle)
    except LaunchError:
        raise Http404("No such session") from None
    grant = session.grant
    if not grant.is_active:
        raise Relaunch()
    if not grant.patient:
        raise Http404("No patient in context")
    return Context(tenant=tenant, session=session, grant=grant, handle=handle, role=role_for(grant))
