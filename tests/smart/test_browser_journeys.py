"""Browser journeys in real Chromium (Playwright): the sandbox's EHR simulator embeds CareLaunch in a cross-origin
iframe (EHR at localhost, CareLaunch at 127.0.0.1, third-party cookies blocked); a patient's standalone launch."""

from __future__ import annotations

import pytest

from apps.core.tenancy import tenant_scope
from apps.smart.models import TokenGrant
from tests.smart.conftest import NATIONAL_ID, PASSWORD, connect
from tests.support.browser import BLOCK_THIRD_PARTY_COOKIES, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page():
    with chromium_page(BLOCK_THIRD_PARTY_COOKIES) as page:
        yield page


def test_ehr_simulator_embeds_carelaunch_in_a_cross_origin_iframe(page, ehr, app, tenant_a, monkeypatch):
    connect(tenant_a, ehr.fhir)
    page.goto(f"{ehr.simulator}?practitioner=pr-001&patient=p-001")
    page.select_option("#id_encounter", "enc-001")
    page.fill("#id_launch_url", f"{app.origin}/launch")
    page.check("#id_banner")
    page.check("#id_embed")
    page.click("button.primary")

    frame = page.frame_locator("iframe.app-frame")
    frame.locator("button[value=allow]").click()  # the practitioner consents inside the iframe
    banner = frame.locator("[data-testid=patient-banner]")
    banner.wait_for()
    assert "王小明" in banner.inner_text()
    assert "A12****789" in banner.inner_text() and NATIONAL_ID not in banner.inner_text()
    app_frame = next(f for f in page.frames if f.url.startswith(app.origin))
    assert "/t/alpha/app/" in app_frame.url
    assert "Encounter/enc-001" in app_frame.content()
    # The cookie jar proves the point: CareLaunch's cookies were refused inside the iframe.
    assert not [c for c in page.context.cookies(app.origin) if c["name"] == "carelaunch_browser"]
    with tenant_scope(tenant_a):
        grant = TokenGrant.objects.get()
    assert grant.encounter == "enc-001" and grant.patient == "p-001"


def test_patient_standalone_launch_top_level(page, ehr, app, tenant_a, monkeypatch):
    connect(tenant_a, ehr.fhir)
    page.goto(f"{app.origin}/launch/patient/")
    page.click("text=Alpha Hospital")
    page.fill("#id_username", "p-001")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.click("button[value=allow]")
    page.wait_for_url(f"{app.origin}/t/alpha/app/**")
    banner = page.locator("[data-testid=patient-banner]")
    assert "王小明" in banner.inner_text()
    assert "1980-04-02" in banner.inner_text()
    assert [c for c in page.context.cookies(app.origin) if c["name"] == "carelaunch_browser"]
    page.click("text=Leave CareLaunch and revoke access")
    page.wait_for_selector("text=You have left CareLaunch")
    with tenant_scope(tenant_a):
        assert TokenGrant.objects.get().status == "revoked"
