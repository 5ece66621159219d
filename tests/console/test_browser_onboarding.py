"""Onboarding in real Chromium (Playwright): sign up → register a hospital → add a connection to the built-in
sandbox EHR served by the live server → "Test connection" → "Connection OK" with what the EHR supports."""

from __future__ import annotations

import pytest

from apps.core.models import Tenant
from apps.core.tenancy import tenant_scope
from apps.tenants.models import EhrConnection
from tests.support.browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page():
    with chromium_page() as page:
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.csp_errors = errors
        yield page


def test_onboarding_from_sign_up_to_connection_ok(page, live_server):
    base = live_server.url
    page.goto(f"{base}/console/signup/")
    page.fill("#id_username", "it-lead")
    page.fill("#id_email", "it-lead@example.org")
    page.fill("#id_password1", "a-long-passphrase-42")
    page.fill("#id_password2", "a-long-passphrase-42")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/console/")

    page.click("text=Register a hospital")
    page.fill("#id_slug", "gamma")
    page.fill("#id_name_en", "Gamma Hospital")
    page.fill("#id_name_zh_hant", "丙醫院")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/console/t/gamma/")
    assert "Pending approval" in page.content()

    page.click("text=Add a connection")
    page.fill("#id_label", "Sandbox EHR")
    page.select_option("#id_environment", "sandbox")
    # First a typo'd URL: the error shows in place and nothing is saved.
    page.fill("#id_fhir_base_url", "https://user:pw@ehr.example.org/fhir")
    page.fill("#id_client_id", "carelaunch-gamma")
    page.click("form.form button[type=submit]")
    assert "must not contain a user name or password" in page.locator(".errorlist").first.inner_text()
    page.fill("#id_fhir_base_url", f"{base}/sandbox/fhir/")
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/console/t/gamma/connections/*/")

    page.click("#test-connection")
    result = page.locator("#test-result")
    result.wait_for()
    assert "Connection OK" in result.inner_text()
    discovered = page.locator("#discovery").inner_text()
    assert f"{base}/sandbox/oauth/token/" in discovered
    assert "S256" in discovered
    registration = page.locator("#registration").inner_text()
    assert "/t/gamma/callback/" in registration and "/launch" in registration
    assert not [e for e in page.csp_errors if "Content Security Policy" in e]

    tenant = Tenant.objects.get(slug="gamma")
    assert tenant.status == "pending"
    with tenant_scope(tenant):
        connection = EhrConnection.objects.get(tenant=tenant)
    assert connection.fhir_base_url == f"{base}/sandbox/fhir"
    assert connection.last_test_ok is True and connection.smart_configuration["token_endpoint"]
