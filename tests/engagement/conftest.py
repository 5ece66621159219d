"""Engagement pages over real HTTP: the sandbox EHR (deterministic synthetic data) and CareLaunch on one
live server. A launched session is set up the way apps.smart's callback leaves it (TokenGrant + SmartSession),
with a real sandbox bearer token from apps.sandbox.grants.issue_grant; the full launch is exercised by the
browser journeys (test_journeys.py) and by tests/smart."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from apps.core.crypto import lookup_hash
from apps.core.tenancy import tenant_scope
from apps.sandbox import services as sandbox_services
from apps.sandbox.data.generator import generate
from apps.sandbox.grants import issue_grant
from apps.smart import services as smart_services
from apps.smart.models import LaunchMode, SmartIdentity, SmartSession, TokenGrant
from apps.tenants.models import EhrConnection

UA = "CareLaunch-engagement-tests/1"
READ_SCOPES = "launch openid fhirUser patient/*.rs"
WRITE_SCOPES = READ_SCOPES + " patient/QuestionnaireResponse.c patient/Observation.c"


@pytest.fixture
def sandbox_records(transactional_db):
    """Four patients with history (p-001: CKD + diabetes + ibuprofen, no flu shot last season) and one heavy."""
    dataset = generate(patients=4, heavy=1, heavy_observations=400)
    sandbox_services.bulk_insert(dataset.resources)
    return dataset


@dataclass
class Launched:
    base: str
    tenant: object
    grant: TokenGrant
    handle: str
    http: requests.Session = field(default_factory=requests.Session)

    def url(self, name: str, *, tenant_slug: str | None = None, handle: str | None = None, **kwargs) -> str:
        path = reverse(f"engagement:{name}", kwargs={"tenant_slug": tenant_slug or self.tenant.slug,
                                                     "handle": handle or self.handle, **kwargs})  # fmt: skip
        return self.base + path

    def get(self, name: str, params=None, **kwargs) -> requests.Response:
        return self.http.get(self.url(name, **kwargs), params=params, allow_redirects=False, timeout=60)

    def post(self, name: str, data, **kwargs) -> requests.Response:
        return self.http.post(self.url(name, **kwargs), data=data, allow_redirects=False, timeout=60)


def make_launch(base: str, tenant, *, patient: str, fhir_user: str, scopes: str = READ_SCOPES,
                mode: str = LaunchMode.EHR, encounter: str = "", banner: bool | None = True,
                style_url: str = "", connection: EhrConnection | None = None) -> Launched:  # fmt: skip
    token = issue_grant(client_id=f"engagement-{tenant.slug}", scopes=scopes, patient_id=patient,
                        fhir_user=fhir_user, encounter_id=encounter or None)  # fmt: skip
    handle = secrets.token_urlsafe(32)
    binding = smart_services.binding_for(cookie_value="", presented=False, client_ip="127.0.0.1", user_agent=UA)
    now = timezone.now()
    with tenant_scope(tenant):
        if connection is None:
            connection = EhrConnection.objects.filter(tenant=tenant).first() or EhrConnection.objects.create(
                tenant=tenant, label="Sandbox", fhir_base_url=f"{base}/sandbox/fhir",
                client_id=f"engagement-{tenant.slug}", scopes=scopes, launch_ehr=True,
                launch_standalone_patient=True, frame_ancestors=base,
            )  # fmt: skip
        from django.contrib.auth import get_user_model

        identity = SmartIdentity.objects.filter(tenant=tenant, fhir_user=f"{base}/sandbox/fhir/{fhir_user}").first()
        if identity is None:
            user = get_user_model().objects.create(username=f"smart-{secrets.token_hex(6)}")
            identity = SmartIdentity.objects.create(tenant=tenant, fhir_user=f"{base}/sandbox/fhir/{fhir_user}",
                                                    user=user)  # fmt: skip
        grant = TokenGrant.objects.create(
            tenant=tenant, connection=connection, identity=identity, mode=mode, access_token=token,
            expires_at=now + timedelta(hours=1), requested_scopes=scopes, granted_scopes=scopes,
            fhir_base_url=f"{base}/sandbox/fhir", fhir_user=f"{base}/sandbox/fhir/{fhir_user}", patient=patient,
            encounter=encounter, need_patient_banner=banner, smart_style_url=style_url,
        )  # fmt: skip
        SmartSession.objects.create(
            tenant=tenant, handle_hash=lookup_hash(f"smart-session:{handle}"), grant=grant, identity=identity,
            patient=patient, cookie_hash=binding.cookie_hash, fingerprint_hash=binding.fingerprint_hash,
            last_seen_at=now, expires_at=now + timedelta(hours=8),
        )  # fmt: skip
    launched = Launched(base=base, tenant=tenant, grant=grant, handle=handle)
    launched.http.headers["User-Agent"] = UA
    return launched


@pytest.fixture
def live(live_server, settings):
    # One origin for both the EHR and CareLaunch in these page tests (the journeys use two host names).
    base = live_server.url.replace("localhost", "127.0.0.1")
    settings.PUBLIC_URL = base
    return base


@pytest.fixture
def clinician(live, tenant_a, tenant_b, sandbox_records) -> Launched:
    return make_launch(live, tenant_a, patient="p-001", fhir_user="Practitioner/pr-001", encounter="enc-001-003")


@pytest.fixture
def patient(live, tenant_a, tenant_b, sandbox_records) -> Launched:
    return make_launch(live, tenant_a, patient="p-001", fhir_user="Patient/p-001", mode=LaunchMode.PATIENT,
                       scopes=WRITE_SCOPES)  # fmt: skip
