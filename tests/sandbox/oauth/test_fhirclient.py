"""A third-party SMART client completes a launch against the sandbox: SMART's own Python client `fhirclient`
4.4.0 discovers the endpoints through the CapabilityStatement `oauth-uris` extension, runs the PKCE (S256)
authorization-code flow, then reads Patient and Observations (issue 4, "Done when")."""

from __future__ import annotations

import pytest
import requests
from fhirclient import client
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

from apps.sandbox.oauth.models import ClientProfile
from apps.sandbox.oauth.services import ensure_client, ensure_sandbox_user
from tests.sandbox.oauth.conftest import PASSWORD, REDIRECT_URI, Browser, World

pytestmark = pytest.mark.django_db(transaction=True)


def test_fhirclient_pkce_launch_then_reads_patient_and_observations(live_server, sandbox_data):
    ensure_sandbox_user(username="p-001", fhir_user="Patient/p-001", display_name="p-001", password=PASSWORD)
    ensure_client(
        client_id="fhirclient-app",
        name="fhirclient",
        auth_method=ClientProfile.AuthMethod.NONE,
        redirect_uris=[REDIRECT_URI],
    )
    fhir_base = f"{live_server.url}/sandbox/fhir"
    smart = client.FHIRClient(
        settings={
            "app_id": "fhirclient-app",
            "api_base": fhir_base,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid fhirUser launch/patient patient/Patient.rs patient/Observation.rs",
        }
    )
    authorize_url = smart.authorize_url  # fetches /metadata and reads the oauth-uris extension
    assert authorize_url.startswith(f"{live_server.url}/sandbox/oauth/authorize/?")
    assert "code_challenge_method=S256" in authorize_url

    world = World(base=live_server.url, jwks=None, secret="", rsa=None, ec=None, fhir=fhir_base)
    browser = Browser(world)
    query = browser.drive(browser.session.get(authorize_url, allow_redirects=False), user="p-001")
    smart.handle_callback(query["_location"])

    assert smart.ready and smart.patient_id == "p-001"
    patient = Patient.read(smart.patient_id, smart.server)
    assert patient.id == "p-001"
    observations = Observation.where(struct={"patient": smart.patient_id, "_count": "50"}).perform_resources(
        smart.server
    )
    assert observations and all(o.subject.reference.endswith("Patient/p-001") for o in observations)
    # The patient/ token cannot read another patient's record.
    other = requests.get(
        f"{fhir_base}/Patient/p-002", headers={"Authorization": f"Bearer {smart.server.auth.access_token}"}, timeout=10
    )
    assert other.status_code in (403, 404)
