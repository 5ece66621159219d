"""SMART App Launch 2.2 `authorize-post`: the sandbox accepts the authorization request as a form POST, validated
exactly like the GET (over real HTTP, like a browser submitting the client's auto-posting form)."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.oauth.conftest import REDIRECT_URI, Browser, exchange, introspect, pkce

pytestmark = pytest.mark.django_db(transaction=True)


def test_capability_is_advertised(world):
    config = requests.get(f"{world.fhir}/.well-known/smart-configuration", timeout=10).json()
    assert "authorize-post" in config["capabilities"]


def test_post_authorize_completes_like_get(world):
    browser = Browser(world)
    verifier, query = browser.authorize(scope="openid fhirUser launch/patient patient/Observation.rs", method="POST")
    # The POST itself was accepted (not 405, not a CSRF 403) and continued in the sign-in transaction.
    assert browser.first.status_code == 302
    assert "/sandbox/oauth/authorize/" in browser.first.headers["Location"]
    assert query["state"] == query["_sent_state"]
    assert query["iss"] == world.fhir
    body = exchange(world, code=query["code"], verifier=verifier).json()
    assert body["patient"] == "p-001"
    assert introspect(world, body["access_token"])["active"] is True


def test_get_still_works(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs")
    assert exchange(world, code=query["code"], verifier=verifier).status_code == 200


def test_post_with_unregistered_redirect_uri_is_not_redirected_to(world):
    _, challenge = pkce()
    response = requests.post(
        world.urls["authorization_endpoint"],
        data={"response_type": "code", "client_id": "app-public", "redirect_uri": REDIRECT_URI + "/evil",
              "scope": "launch/patient", "aud": world.fhir, "code_challenge": challenge,
              "code_challenge_method": "S256", "state": "s" * 20},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_post_with_wrong_aud_is_refused(world):
    _, query = Browser(world).authorize(
        scope="launch/patient", extra={"aud": "https://evil.example/fhir"}, method="POST"
    )
    assert query["error"] == "invalid_request" and "code" not in query


def test_post_with_duplicate_parameters_is_refused(world):
    _, challenge = pkce()
    body = (
        f"response_type=code&client_id=app-public&redirect_uri={requests.utils.quote(REDIRECT_URI, safe='')}"
        f"&scope=launch%2Fpatient&aud={requests.utils.quote(world.fhir, safe='')}&code_challenge={challenge}"
        "&code_challenge_method=S256&state=aaaaaaaaaaaaaaaa&state=bbbbbbbbbbbbbbbb"
    )
    response = requests.post(
        world.urls["authorization_endpoint"],
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=10,
    )
    location = response.headers.get("Location", "")
    assert "code=" not in location
    assert response.status_code == 400 or "error=" in location


@pytest.mark.parametrize(
    ("content_type", "query"),
    [("application/json", ""), ("application/x-www-form-urlencoded", "?client_id=app-public")],
)
def test_post_must_be_a_plain_form(world, content_type, query):
    response = requests.post(
        world.urls["authorization_endpoint"] + query,
        data='{"response_type": "code"}' if content_type == "application/json" else "response_type=code",
        headers={"Content-Type": content_type},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
