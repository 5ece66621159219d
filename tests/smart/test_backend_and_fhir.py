"""Backend services (SMART checklist B1), the client assertion (T3), and the FHIR client's fault handling (R4)."""

from __future__ import annotations

import json
import time

import pytest
import requests
import responses
from jwcrypto import jwk, jwt

from apps.core.tenancy import tenant_scope
from apps.smart import fhir_client, services
from apps.smart.fhir_client import FhirClient, FhirError
from apps.smart.models import TokenGrant
from apps.tenants import selectors as tenant_selectors
from tests.smart.conftest import connect
from tests.smart.fake_ehr import FakeEhr


@pytest.fixture
def fake():
    server = FakeEhr()
    yield server
    server.close()


def _verify_assertion(tenant, assertion: str) -> tuple[dict, dict]:
    keyset = jwk.JWKSet.from_json(json.dumps(tenant_selectors.jwks_for_tenant(tenant)))
    token = jwt.JWT(jwt=assertion, key=keyset, algs=["RS384", "ES384"])
    return json.loads(token.header), json.loads(token.claims)


@pytest.mark.django_db
@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_system_token_uses_client_credentials_with_a_signed_assertion_and_is_cached(fake, tenant_a, settings, alg):
    settings.SMART_ASSERTION_ALGS = [alg]
    connection = connect(tenant_a, fake.fhir, launch_backend_services=True, backend_client_id="backend-1")
    fake.token_reply = lambda form: (200, {"access_token": "sys-1", "token_type": "bearer", "expires_in": 300,
                                           "scope": "system/*.rs"})  # fmt: skip
    assert services.system_token(connection=connection) == "sys-1"
    assert services.system_token(connection=connection) == "sys-1"
    assert fake.count("/token") == 1  # cached until 60 s before expiry
    [(_m, _p, headers, form)] = [r for r in fake.requests if r[1] == "/token"]
    assert form["grant_type"] == ["client_credentials"] and form["scope"] == ["system/*.rs"]
    assert form["client_assertion_type"] == ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]
    assert "Authorization" not in headers and "client_secret" not in form
    header, claims = _verify_assertion(tenant_a, form["client_assertion"][0])
    assert header["alg"] == alg and header["kid"]
    assert claims["iss"] == claims["sub"] == "backend-1"
    assert claims["aud"] == f"{fake.base}/token"
    assert 0 < claims["exp"] - time.time() <= 300
    assert claims["jti"]


@pytest.mark.django_db
def test_system_token_close_to_expiry_is_not_cached(fake, tenant_a):
    connection = connect(tenant_a, fake.fhir, launch_backend_services=True, backend_client_id="backend-1")
    fake.token_reply = lambda form: (200, {"access_token": "sys-short", "token_type": "Bearer", "expires_in": 60})
    services.system_token(connection=connection)
    services.system_token(connection=connection)
    assert fake.count("/token") == 2
    jtis = {
        json.loads(jwt.JWT(jwt=f["client_assertion"][0]).token.objects["payload"])["jti"]
        for _m, p, _h, f in fake.requests
        if p == "/token"
    }
    assert len(jtis) == 2  # a fresh jti per assertion


@pytest.mark.django_db
def test_system_token_needs_backend_services_enabled(fake, tenant_a):
    connection = connect(tenant_a, fake.fhir)
    with pytest.raises(services.LaunchError):
        services.system_token(connection=connection)
    assert fake.count("/token") == 0


@pytest.mark.django_db(transaction=True)
def test_backend_services_against_the_sandbox(ehr, app, tenant_a):
    from apps.sandbox.oauth.models import ClientProfile
    from apps.sandbox.oauth.services import ensure_client

    connection = connect(tenant_a, ehr.fhir, launch_backend_services=True, backend_client_id="carelaunch-backend")
    ensure_client(
        client_id="carelaunch-backend",
        name="Backend",
        auth_method=ClientProfile.AuthMethod.PRIVATE_KEY_JWT,
        redirect_uris=[],
        jwks_url=tenant_selectors.jwks_url_for(tenant_a),
        backend=True,
    )
    token = services.system_token(connection=connection, scopes="system/Patient.rs")
    response = requests.get(f"{ehr.fhir}/Patient/p-001", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200 and response.json()["id"] == "p-001"


@pytest.mark.django_db
def test_private_key_jwt_code_exchange_sends_a_signed_assertion(client, fake, tenant_a):
    connection = connect(tenant_a, fake.fhir, auth="rs384")
    response = client.get("/launch", {"iss": fake.fhir, "launch": "L"})
    from urllib.parse import parse_qs, urlsplit

    query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
    fake.token_reply = lambda form: (400, {"error": "invalid_client"})
    client.get(f"/t/alpha/callback/{connection.pk}", {"state": query["state"], "code": "c"})
    [(_m, _p, _h, form)] = [r for r in fake.requests if r[1] == "/token"]
    header, claims = _verify_assertion(tenant_a, form["client_assertion"][0])
    assert header["alg"] == "RS384"
    assert claims["iss"] == claims["sub"] == connection.client_id
    assert claims["aud"] == f"{fake.base}/token"
    assert "client_id" not in form and form["code_verifier"]


# --- FHIR client faults (responses: fault injection only) ------------------------------------------------------


BASE = "http://127.0.0.1:9/fhir"


@pytest.fixture
def grant(tenant_a, db):
    with tenant_scope(tenant_a):
        from apps.tenants.models import EhrConnection

        connection = EhrConnection.objects.create(tenant=tenant_a, label="x", fhir_base_url=BASE, client_id="c")
        return TokenGrant.objects.create(tenant=tenant_a, connection=connection, mode="ehr", access_token="tok-1",
                                         fhir_base_url=BASE, patient="p-1")  # fmt: skip


@responses.activate
def test_fhir_client_sends_bearer_and_honours_429_retry_after(grant):
    responses.get(f"{BASE}/Patient/p-1", status=429, headers={"Retry-After": "7"})
    responses.get(f"{BASE}/Patient/p-1", json={"resourceType": "Patient", "id": "p-1"})
    slept: list[float] = []
    assert FhirClient(grant, sleep=slept.append).read("Patient", "p-1")["id"] == "p-1"
    assert slept == [7.0]
    assert all(call.request.headers["Authorization"] == "Bearer tok-1" for call in responses.calls)


@responses.activate
def test_fhir_client_retries_5xx_with_backoff_and_jitter_then_gives_up(grant):
    for _ in range(fhir_client.MAX_ATTEMPTS):
        responses.get(f"{BASE}/Patient/p-1", status=503)
    slept: list[float] = []
    with pytest.raises(FhirError) as info:
        FhirClient(grant, sleep=slept.append).read("Patient", "p-1")
    assert info.value.status == 503
    assert len(responses.calls) == fhir_client.MAX_ATTEMPTS
    assert len(slept) == fhir_client.MAX_ATTEMPTS - 1
    assert 0.5 <= slept[0] <= 1.0 and 1.0 <= slept[1] <= 2.0 and 2.0 <= slept[2] <= 4.0


@responses.activate
def test_fhir_client_follows_next_links_only_on_the_same_base(grant):
    page2 = f"{BASE}/Observation?page=2"
    responses.get(f"{BASE}/Observation", json={"resourceType": "Bundle", "entry": [{"resource": {"id": "o1"}}],
                                               "link": [{"relation": "next", "url": page2}]})  # fmt: skip
    foreign = "http://127.0.0.1:10/fhir/Observation?page=3"
    responses.get(page2, json={"resourceType": "Bundle", "entry": [{"resource": {"id": "o2"}}],
                               "link": [{"relation": "next", "url": foreign}]})  # fmt: skip
    ids = [r["id"] for r in FhirClient(grant, sleep=lambda s: None).search("Observation", {"patient": "p-1"})]
    assert ids == ["o1", "o2"]
    assert len(responses.calls) == 2  # the foreign next link was not followed


@responses.activate
def test_fhir_client_times_out_and_reports(grant):
    responses.get(f"{BASE}/Patient/p-1", body=requests.Timeout())
    with pytest.raises(FhirError):
        FhirClient(grant, sleep=lambda s: None).read("Patient", "p-1")
    assert len(responses.calls) == fhir_client.MAX_ATTEMPTS
