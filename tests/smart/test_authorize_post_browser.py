"""authorize-post in real Chromium: the auto-submitting form (static JS under a strict CSP) POSTs the
authorization request cross-origin (CareLaunch at 127.0.0.1, the EHR at localhost), which the page's CSP
`form-action` must allow, and the patient reaches CareLaunch's landing page."""

from __future__ import annotations

import pytest

from apps.core.tenancy import tenant_scope
from apps.smart.models import TokenGrant
from tests.smart.conftest import PASSWORD, connect
from tests.support.browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_patient_standalone_launch_with_authorize_post(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir, use_authorize_post=True)
    with chromium_page() as page:
        authorize_requests: list[tuple[str, str]] = []
        violations: list[str] = []
        page.on(
            "request",
            lambda request: (
                authorize_requests.append((request.method, request.url))
                if "/sandbox/oauth/authorize/" in request.url
                else None
            ),
        )
        page.on(
            "console",
            lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
        )

        page.goto(f"{app.origin}/launch/patient/")
        page.click("text=Alpha Hospital")
        # No click on "Continue": the static script submits the form by itself.
        page.wait_for_selector("#id_username")
        page.fill("#id_username", "p-001")
        page.fill("#id_password", PASSWORD)
        page.click("button.primary")
        page.click("button[value=allow]")
        page.wait_for_url(f"{app.origin}/t/alpha/app/**")
        banner = page.locator("[data-testid=patient-banner]")
        assert "王小明" in banner.inner_text()

    assert authorize_requests[0] == ("POST", f"{ehr.origin}/sandbox/oauth/authorize/")
    assert not [url for method, url in authorize_requests if method == "GET" and "/authorize/?" in url]
    assert not violations, violations
    with tenant_scope(tenant_a):
        assert TokenGrant.objects.get().patient == "p-001"
