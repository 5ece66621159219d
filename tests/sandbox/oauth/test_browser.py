"""The sandbox's pages in a real browser: CSP and redirects that `requests` cannot see.

A browser applies `form-action` to the redirects after a form POST; the consent page's POST ends in a
redirect to the client's redirect URI on another origin, and the EHR simulator's to the app's launch URL.
"""

import secrets
from urllib.parse import urlencode

import pytest

from tests.sandbox.oauth.conftest import PASSWORD, REDIRECT_URI, pkce
from tests.support.browser import chromium_page

pytestmark = pytest.mark.browser


@pytest.fixture
def page():
    with chromium_page() as page:
        yield page


def _requests_to(page, prefix: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url) if request.url.startswith(prefix) else None)
    return seen


def test_consent_in_a_browser_reaches_the_clients_redirect_uri(world, page):
    _verifier, challenge = pkce()
    params = {
        "response_type": "code", "client_id": "app-public", "redirect_uri": REDIRECT_URI,
        "scope": "openid fhirUser launch/patient patient/Patient.rs", "state": secrets.token_urlsafe(16),
        "aud": world.fhir, "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    to_client = _requests_to(page, REDIRECT_URI)
    page.goto(f"{world.urls['authorization_endpoint']}?{urlencode(params)}")
    page.fill("input[name=username]", "p-001")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_selector("button[value=allow]")
    page.click("button[value=allow]")
    page.wait_for_timeout(1500)
    assert any("code=" in url and f"state={params['state']}" in url for url in to_client), to_client


def test_simulator_launch_in_a_browser_reaches_the_apps_launch_url(world, page):
    launch_url = "http://127.0.0.1:9/launch"
    to_app = _requests_to(page, launch_url)
    page.goto(f"{world.base}/sandbox/ehr/?patient=p-001")
    page.fill("#id_launch_url", launch_url)
    page.click("button.primary")
    page.wait_for_timeout(1500)
    assert any("launch=" in url and "iss=" in url for url in to_app), to_app
