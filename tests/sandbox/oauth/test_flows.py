"""SMART App Launch 2.2 authorization flows against the sandbox over real HTTP (S1, S2 of the checklist)."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken

from tests.sandbox.oauth.conftest import (
    CSRF,
    REDIRECT_URI,
    Browser,
    exchange,
    introspect,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_smart_configuration_advertises_what_is_supported(world):
    response = requests.get(f"{world.fhir}/.well-known/smart-configuration", timeout=10)
    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == world.fhir
    assert config["authorization_endpoint"] == f"{world.base}/sandbox/oauth/authorize/"
    assert config["token_endpoint"] == f"{world.base}/sandbox/oauth/token/"
    assert config["introspection_endpoint"] == f"{world.base}/sandbox/oauth/introspect/"
    assert config["revocation_endpoint"] == f"{world.base}/sandbox/oauth/revoke/"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert set(config["token_endpoint_auth_methods_supported"]) == {"none", "client_secret_basic", "private_key_jwt"}
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    assert config["authorization_response_iss_parameter_supported"] is True
    assert "authorize-post" in config["capabilities"]
    for capability in ("launch-ehr", "launch-standalone", "client-confidential-asymmetric", "permission-v2",
                       "context-ehr-encounter", "sso-openid-connect", "permission-offline"):  # fmt: skip
        assert capability in config["capabilities"]
    jwks = requests.get(config["jwks_uri"], timeout=10).json()
    assert jwks["keys"][0]["alg"] == "RS256" and "d" not in jwks["keys"][0]
    oidc = requests.get(f"{world.fhir}/.well-known/openid-configuration", timeout=10).json()
    assert oidc["issuer"] == world.fhir and oidc["jwks_uri"] == config["jwks_uri"]


def _verify_id_token(world, id_token: str, client_id: str) -> dict:
    keys = jwk.JWKSet.from_json(requests.get(world.urls["jwks_uri"], timeout=10).text)
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"])
    return json.loads(token.claims)


def test_patient_standalone_launch(world):
    browser = Browser(world)
    scope = "openid fhirUser launch/patient patient/Patient.rs patient/Observation.rs"
    verifier, query = browser.authorize(scope=scope, user="p-001")
    assert query["state"] == query["_sent_state"]
    assert query["iss"] == world.fhir  # RFC 9207
    response = exchange(world, code=query["code"], verifier=verifier)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["patient"] == "p-001"
    assert body["need_patient_banner"] is True
    assert body["smart_style_url"] == f"{world.base}/sandbox/style.json"
    assert body["tenant"] and body["fhirContext"] == []
    assert set(body["scope"].split()) == set(scope.split())
    assert "refresh_token" not in body  # no offline_access / online_access
    assert requests.get(body["smart_style_url"], timeout=10).json()["color_highlight"]
    claims = _verify_id_token(world, body["id_token"], "app-public")
    assert claims["iss"] == world.fhir
    assert claims["aud"] == "app-public"
    assert claims["fhirUser"] == f"{world.fhir}/Patient/p-001"
    assert claims["nonce"] == query["_nonce"]
    info = introspect(world, body["access_token"])
    assert info["active"] is True and info["patient"] == "p-001" and info["client_id"] == "app-public"
    assert info["fhirUser"] == f"{world.fhir}/Patient/p-001"
    assert info["exp"] > 0 and set(info["scope"].split()) == set(scope.split())


def test_practitioner_standalone_launch_uses_patient_picker(world):
    browser = Browser(world)
    verifier, query = browser.authorize(
        scope="openid fhirUser launch/patient patient/Observation.rs", user="pr-001", pick="p-002"
    )
    picker = next(page for page in browser.pages if 'value="pick"' in page)
    assert "林雅婷" in picker and "8800274" in picker
    body = exchange(world, code=query["code"], verifier=verifier).json()
    assert body["patient"] == "p-002"
    assert _verify_id_token(world, body["id_token"], "app-public")["fhirUser"] == f"{world.fhir}/Practitioner/pr-001"


def test_patient_picker_searches_by_name_and_medical_record_number(world):
    browser = Browser(world)
    session = browser.session
    response = session.get(
        world.urls["authorization_endpoint"],
        params={"response_type": "code", "client_id": "app-public", "redirect_uri": REDIRECT_URI,
                "scope": "launch/patient patient/Observation.rs", "aud": world.fhir, "state": "s" * 20,
                "code_challenge": "x" * 43, "code_challenge_method": "S256"},
    )  # fmt: skip
    html = response.text
    response = session.post(
        response.url,
        data={"csrfmiddlewaretoken": CSRF.search(html).group(1), "username": "pr-001",
              "password": "sandbox-test-pass-1", "next": re.search(r'name="next" value="([^"]+)"', html).group(1)},
    )  # fmt: skip
    picker_url = response.url
    by_mrn = session.get(picker_url, params={"q": "8800137"}).text
    assert "王小明" in by_mrn and "林雅婷" not in by_mrn
    by_name = session.get(picker_url, params={"q": "雅婷"}).text
    assert "林雅婷" in by_name and "王小明" not in by_name


def test_ehr_launch_through_the_simulator(world):
    browser = Browser(world)
    page = browser.session.get(f"{world.base}/sandbox/ehr/", params={"patient": "p-001"})
    assert page.status_code == 200 and "enc-001" in page.text
    launch = browser.session.post(
        f"{world.base}/sandbox/ehr/",
        data={"csrfmiddlewaretoken": CSRF.search(page.text).group(1), "practitioner": "pr-001", "patient": "p-001",
              "encounter": "enc-001", "launch_url": "http://127.0.0.1:9/launch"},
        allow_redirects=False,
    )  # fmt: skip
    assert launch.status_code == 302
    target = parse_qs(urlsplit(launch.headers["Location"]).query)
    assert target["iss"] == [world.fhir]
    launch_value = target["launch"][0]
    verifier, query = browser.authorize(
        scope="openid fhirUser launch patient/Observation.rs", user=None, extra={"launch": launch_value}
    )
    body = exchange(world, code=query["code"], verifier=verifier).json()
    assert body["patient"] == "p-001"
    assert body["encounter"] == "enc-001"
    assert body["need_patient_banner"] is False
    assert _verify_id_token(world, body["id_token"], "app-public")["fhirUser"] == f"{world.fhir}/Practitioner/pr-001"
    # The launch value is single use.
    _, again = Browser(world).authorize(
        scope="launch patient/Observation.rs", user=None, extra={"launch": launch_value}
    )
    assert again["error"] == "invalid_request"


def test_simulator_can_embed_the_app_in_an_iframe(world):
    session = requests.Session()
    page = session.get(f"{world.base}/sandbox/ehr/")
    response = session.post(
        f"{world.base}/sandbox/ehr/",
        data={"csrfmiddlewaretoken": CSRF.search(page.text).group(1), "practitioner": "pr-001", "patient": "p-002",
              "launch_url": "http://127.0.0.1:9/launch", "embed": "on"},
    )  # fmt: skip
    assert response.status_code == 200
    assert '<iframe class="app-frame" src="http://127.0.0.1:9/launch?iss=' in response.text
    # The app's origin, and the sandbox itself (the framed app sends its user back to our authorize page).
    assert "frame-src 'self' http://127.0.0.1:9" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.text


def test_consent_narrowing_removes_unticked_scopes(world):
    verifier, query = Browser(world).authorize(
        scope="launch/patient patient/Observation.rs patient/Condition.rs", untick=("patient/Condition.rs",)
    )
    body = exchange(world, code=query["code"], verifier=verifier).json()
    assert set(body["scope"].split()) == {"launch/patient", "patient/Observation.rs"}


def test_consent_denied_redirects_with_access_denied(world):
    _, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs", deny=True)
    assert query["error"] == "access_denied" and query["iss"] == world.fhir


def test_consent_page_speaks_traditional_chinese(world):
    browser = Browser(world)
    browser.session.headers["Accept-Language"] = "zh-hant"
    browser.authorize(scope="launch/patient patient/Observation.rs?category=laboratory offline_access")
    consent = next(page for page in browser.pages if 'value="allow"' in page)
    assert "允許" in consent and "檢驗" in consent


def test_granular_v2_scope_is_granted(world):
    scope = "launch/patient patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
    verifier, query = Browser(world).authorize(scope=scope)
    body = exchange(world, code=query["code"], verifier=verifier).json()
    assert body["scope"] == scope


# --- negatives ----------------------------------------------------------------------------------------------


def test_wrong_pkce_verifier_is_refused(world):
    _, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs")
    response = exchange(world, code=query["code"], verifier="w" * 50)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("http_method", ["GET", "POST"])  # POST: SMART authorize-post
@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_s256_is_required(world, method, http_method):
    extra = {"code_challenge_method": method}
    if method is None:
        extra["code_challenge"] = None
    _, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs", extra=extra, method=http_method)
    assert query["error"] == "invalid_request"
    assert "code" not in query


def test_reused_code_is_refused_and_its_tokens_revoked(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs offline_access")
    first = exchange(world, code=query["code"], verifier=verifier).json()
    assert introspect(world, first["access_token"])["active"] is True
    second = exchange(world, code=query["code"], verifier=verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert introspect(world, first["access_token"])["active"] is False
    refresh = requests.post(
        world.urls["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": "app-public"},
        timeout=10,
    )
    assert refresh.status_code == 400


def test_unregistered_redirect_uri_is_not_redirected_to(world):
    response = requests.get(
        world.urls["authorization_endpoint"],
        params={"response_type": "code", "client_id": "app-public", "redirect_uri": REDIRECT_URI + "/evil",
                "scope": "launch/patient", "aud": world.fhir, "code_challenge": "x" * 43,
                "code_challenge_method": "S256", "state": "s" * 20},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_token_request_with_other_redirect_uri_is_refused(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs")
    response = exchange(world, code=query["code"], verifier=verifier, redirect_uri=REDIRECT_URI + "/other")
    assert response.status_code in (400, 401) and response.json()["error"] in {"invalid_grant", "invalid_request"}


def test_wrong_aud_is_refused(world):
    _, query = Browser(world).authorize(scope="launch/patient", extra={"aud": "https://evil.example/fhir"})
    assert query["error"] == "invalid_request" and "code" not in query


def test_expired_token_is_inactive(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs")
    body = exchange(world, code=query["code"], verifier=verifier).json()
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert introspect(world, body["access_token"]) == {"active": False}


def test_refresh_rotation_and_reuse_revokes_the_family(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs offline_access")
    first = exchange(world, code=query["code"], verifier=verifier).json()
    token_url = world.urls["token_endpoint"]
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": "app-public"}
    second = requests.post(token_url, data=data, timeout=10)
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["patient"] == "p-001"  # launch context survives refresh
    assert introspect(world, rotated["access_token"])["patient"] == "p-001"
    replay = requests.post(token_url, data=data, timeout=10)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert introspect(world, rotated["access_token"])["active"] is False
    after = requests.post(token_url, data={**data, "refresh_token": rotated["refresh_token"]}, timeout=10)
    assert after.status_code == 400


def test_online_access_also_gets_a_refresh_token(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs online_access")
    assert "refresh_token" in exchange(world, code=query["code"], verifier=verifier).json()


def test_unknown_scope_is_refused(world):
    _, query = Browser(world).authorize(scope="launch/patient patient/Observation.xyz")
    assert query["error"] == "invalid_scope"


def test_system_scope_needs_backend_services(world):
    _, query = Browser(world).authorize(scope="system/*.rs")
    assert query["error"] == "invalid_scope"
