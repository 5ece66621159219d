"""Launch flows over real HTTP against the sandbox EHR (live_server): SMART checklist L1-L5, T1-T7."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from apps.audit.models import AuditEvent
from apps.core.tenancy import all_tenants, tenant_scope
from apps.smart.models import LaunchState, SmartIdentity, SmartSession, TokenGrant
from tests.smart.conftest import NATIONAL_ID, Browser, connect, error_code

pytestmark = pytest.mark.django_db(transaction=True)


def only_grant(tenant) -> TokenGrant:
    with tenant_scope(tenant):
        grants = list(TokenGrant.objects.select_related("identity__user"))
    assert len(grants) == 1
    return grants[0]


def test_ehr_launch_as_practitioner_with_encounter_context(ehr, app, tenant_a):
    connection = connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    launch_url = browser.ehr_launch_url(ehr, patient="p-001", encounter="enc-001")
    response = browser.run(launch_url)

    assert response.status_code == 200, response.text[:800]
    assert "/t/alpha/app/" in response.url
    page = response.text
    assert 'data-testid="patient-banner"' in page
    assert "王小明" in page
    assert "1980-04-02" in page
    assert "A12****789" in page and NATIONAL_ID not in page
    assert "8800137" in page  # 病歷號 shown in full
    assert "Encounter/enc-001" in page
    assert f"{ehr.fhir}/Practitioner/pr-001" in page
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert f"frame-ancestors {ehr.origin}" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers

    grant = only_grant(tenant_a)
    assert grant.connection_id == connection.pk
    assert grant.mode == "ehr"
    assert grant.patient == "p-001" and grant.encounter == "enc-001"
    assert grant.need_patient_banner is True
    assert grant.fhir_user == f"{ehr.fhir}/Practitioner/pr-001"
    assert "launch" in grant.granted_scope_list and "openid" in grant.granted_scope_list
    assert grant.access_token and grant.refresh_token and grant.id_token
    assert grant.expires_at is not None
    # Tokens are encrypted at rest: the raw column never holds the token.
    from django.db import connection as db
    from django.db import transaction

    with tenant_scope(tenant_a), transaction.atomic(), db.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM smart_tokengrant WHERE id = %s", [grant.pk])
        raw_access, raw_refresh = cursor.fetchone()
    assert grant.access_token not in raw_access and grant.refresh_token not in raw_refresh

    # The user record for audit: per (tenant, fhirUser), no usable password.
    identity = grant.identity
    assert identity.fhir_user == grant.fhir_user
    assert not identity.user.has_usable_password()

    # The authorize request (L3): what CareLaunch sent, as the sandbox received it.
    authorize = next(url for url in browser.history if "/sandbox/oauth/authorize/?" in url)
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == connection.client_id
    assert query["redirect_uri"] == f"{app.origin}/t/alpha/callback/{connection.pk}"
    assert query["aud"] == ehr.fhir
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["launch"] == parse_qs(urlsplit(launch_url).query)["launch"][0]
    assert len(query["state"]) >= 43  # ≥ 256 bits, base64url
    scopes = query["scope"].split()
    assert {"launch", "openid", "fhirUser", "patient/*.rs", "offline_access"} <= set(scopes)
    with tenant_scope(tenant_a):
        state = LaunchState.objects.get()
    assert state.used_at is not None and state.state_hash != query["state"]

    with all_tenants():
        event = AuditEvent.objects.filter(action="smart.launch").get()
    assert event.outcome == "success" and event.tenant_id == tenant_a.pk and event.patient == "Patient/p-001"


def test_v1_scopes_when_the_server_does_not_advertise_permission_v2():
    from apps.smart.scopes import requested_scopes

    configured = ["patient/Observation.rs", "patient/*.read", "user/Patient.cruds", "offline_access"]
    v1 = requested_scopes(configured, mode="ehr", capabilities=["permission-v1"])
    assert v1 == ["patient/Observation.read", "patient/*.read", "user/Patient.*", "offline_access", "openid",
                  "fhirUser", "launch"]  # fmt: skip
    v2 = requested_scopes(configured, mode="patient", capabilities=["permission-v2"])
    assert v2 == ["patient/Observation.rs", "patient/*.rs", "user/Patient.cruds", "offline_access", "openid",
                  "fhirUser", "launch/patient"]  # fmt: skip


def test_standalone_patient_launch(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    # The patient finds the hospital on the "choose your hospital" page.
    chooser = browser.get(f"{app.origin}/launch/patient/")
    assert chooser.status_code == 200 and "/t/alpha/launch/patient" in chooser.text
    response = browser.run(f"{app.origin}/t/alpha/launch/patient", user="p-001")
    assert response.status_code == 200, response.text[:800]
    assert "王小明" in response.text
    grant = only_grant(tenant_a)
    assert grant.mode == "patient"
    assert grant.patient == "p-001"
    assert grant.fhir_user == f"{ehr.fhir}/Patient/p-001"
    assert "launch/patient" in grant.granted_scope_list


def test_landing_page_leads_into_the_patient_record(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    landing = browser.run(f"{app.origin}/t/alpha/launch/patient", user="p-001")
    link = re.search(r'href="([^"]+)" data-testid="open-record"', landing.text)
    assert link, "the landing page has no way into the record"
    record = browser.session.get(urljoin(landing.url, html.unescape(link.group(1))), timeout=30)
    assert record.status_code == 200
    assert "王小明" in record.text


def test_standalone_provider_launch_with_patient_picker(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    response = browser.run(f"{app.origin}/t/alpha/launch/provider", user="pr-001", pick="p-002")
    assert response.status_code == 200, response.text[:800]
    assert "林雅婷" in response.text and "B23****890" in response.text
    grant = only_grant(tenant_a)
    assert grant.mode == "provider"
    assert grant.patient == "p-002"
    assert grant.fhir_user == f"{ehr.fhir}/Practitioner/pr-001"


@pytest.mark.parametrize("auth", ["public", "secret", "rs384", "es384"])
def test_each_client_authentication(ehr, app, tenant_a, settings, auth):
    settings.SMART_ASSERTION_ALGS = ["ES384"] if auth == "es384" else ["RS384"]
    connect(tenant_a, ehr.fhir, auth=auth)
    browser = Browser(app)
    response = browser.run(browser.ehr_launch_url(ehr))
    assert response.status_code == 200, response.text[:800]
    assert "王小明" in response.text
    assert only_grant(tenant_a).access_token


def test_need_patient_banner_false_hides_the_banner(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    response = browser.run(browser.ehr_launch_url(ehr, banner=False))
    assert response.status_code == 200
    assert 'data-testid="patient-banner"' not in response.text
    assert "王小明" not in response.text
    assert only_grant(tenant_a).need_patient_banner is False


def test_narrowed_consent_lands_on_a_working_page_that_says_what_is_missing(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    response = browser.run(browser.ehr_launch_url(ehr), untick=("offline_access",))
    assert response.status_code == 200, response.text[:800]
    assert 'data-testid="missing-scopes"' in response.text
    missing = response.text.split('data-testid="missing-scopes"', 1)[1]
    assert "offline_access" in missing
    assert "王小明" in response.text  # the rest still works
    grant = only_grant(tenant_a)
    assert "offline_access" not in grant.granted_scope_list
    assert grant.missing_scopes == ["offline_access"]
    assert not grant.refresh_token


def test_two_interleaved_launches_in_one_browser_never_cross(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    first = browser.run(browser.ehr_launch_url(ehr, patient="p-001"), stop_at_callback=True)
    second = browser.run(browser.ehr_launch_url(ehr, patient="p-002", encounter=""), stop_at_callback=True)
    # Finish them in the opposite order.
    page_two = browser.run(second.headers["Location"])
    page_one = browser.run(first.headers["Location"])
    assert page_two.status_code == 200 and page_one.status_code == 200
    assert "林雅婷" in page_two.text and "王小明" not in page_two.text
    assert "王小明" in page_one.text and "林雅婷" not in page_one.text
    with tenant_scope(tenant_a):
        assert sorted(TokenGrant.objects.values_list("patient", flat=True)) == ["p-001", "p-002"]
        assert SmartSession.objects.count() == 2
        assert SmartIdentity.objects.count() == 1  # the same practitioner, one user record


def test_app_page_via_django_session_and_logout_revokes_at_the_ehr(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    response = browser.run(browser.ehr_launch_url(ehr))
    assert response.status_code == 200
    # With cookies working (top-level), /app/ finds the session too.
    assert "王小明" in browser.get(f"{app.origin}/app/").text
    grant = only_grant(tenant_a)
    access = grant.access_token
    fhir = browser.session.get(f"{ehr.fhir}/Patient/p-001", headers={"Authorization": f"Bearer {access}"}, timeout=30)
    assert fhir.status_code == 200
    logout = browser.session.post(response.url + "logout", allow_redirects=False, timeout=30)
    assert logout.status_code == 200 and "revoked" in logout.text
    with tenant_scope(tenant_a):
        grant.refresh_from_db()
    assert grant.status == "revoked" and not grant.access_token and not grant.refresh_token
    after = browser.session.get(f"{ehr.fhir}/Patient/p-001", headers={"Authorization": f"Bearer {access}"}, timeout=30)
    assert after.status_code == 401  # revoked at the EHR
    assert error_code(browser.get(response.url)) == "session_expired"
