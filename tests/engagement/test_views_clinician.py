"""Clinician pages over live HTTP against the sandbox EHR."""

from __future__ import annotations

import re

import pytest

from apps.audit.models import AuditEvent
from apps.core.tenancy import all_tenants, tenant_scope
from apps.engagement.models import CardDismissal
from tests.engagement.conftest import make_launch

pytestmark = pytest.mark.django_db(transaction=True)


def test_summary_shows_banner_sections_and_cards(clinician):
    response = clinician.get("summary")
    assert response.status_code == 200, response.text[:2000]
    html = response.text
    assert 'data-testid="patient-banner"' in html
    assert re.search(r"[A-Z][12]\d\*{4}\d{3}", html), "national ID masked as A12****789"
    assert 'data-testid="allergy-flag"' in html  # p-001 is allergic to penicillin
    assert "8800137" in html  # 病歷號
    for rule in ("egfr-nsaid", "influenza-vaccine-due"):
        assert f'data-rule="{rule}"' in html
    assert 'data-testid="launch-encounter"' in html
    assert 'role="img"' in html and "<svg" in html  # sparklines
    assert response.headers["Cache-Control"].startswith("no-store") or "no-store" in response.headers["Cache-Control"]
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]


def test_summary_is_audited(clinician):
    clinician.get("summary")
    with all_tenants():
        event = AuditEvent.objects.filter(action="engagement.view", target="summary").latest("pk")
    assert event.patient == "Patient/p-001" and event.tenant_id == clinician.tenant.pk
    assert event.actor_id == clinician.grant.identity.user_id


def test_home_redirects_by_role(clinician):
    response = clinician.get("home")
    assert response.status_code == 302 and response.headers["Location"].split("?")[0].endswith("/e/summary")


def test_need_patient_banner_false_hides_banner(live, tenant_a, tenant_b, sandbox_records):
    launched = make_launch(live, tenant_a, patient="p-002", fhir_user="Practitioner/pr-001", banner=False)
    html = launched.get("summary").text
    assert 'data-testid="patient-banner"' not in html
    assert "No known allergies" in html  # p-002 has none


def test_vitals_chart_and_server_side_sort_filter(clinician):
    response = clinician.get("vitals", kind="bp")
    assert response.status_code == 200
    html = response.text
    assert "<svg viewBox" in html and "<title id=" in html and "<desc id=" in html
    assert 'data-testid="readings-table"' in html
    rows = clinician.get("vitals", kind="hr", params={"sort": "value"}).text
    values = [int(v) for v in re.findall(r"<td>(\d+) (?:per minute|/min)</td>", rows)]
    assert values and values == sorted(values)
    high_only = clinician.get("vitals", kind="bp", params={"flag": "critical", "sort": "garbage"}).text
    assert "row-normal" not in high_only


def test_lab_detail_with_reference_band(clinician):
    html = clinician.get("lab", key="egfr").text
    assert 'class="band"' in html and "eGFR" in html
    assert clinician.get("lab", key="not-a-lab").status_code == 404


def test_labs_table_filters_by_name_and_flag(clinician):
    html = clinician.get("labs", params={"q": "creatinine", "flag": "high"}).text
    assert 'data-testid="labs-table"' in html
    assert "Potassium" not in html.split('data-testid="labs-table"')[1]


def test_dismiss_card_with_reason_is_stored_and_audited(clinician):
    html = clinician.get("summary").text
    card = re.search(r'data-rule="egfr-nsaid".*?name="card" value="([0-9a-f-]{36})"', html, re.S).group(1)
    refused = clinician.post("dismiss", {"card": card, "reason": "because"})
    assert refused.status_code == 400
    response = clinician.post("dismiss", {"card": card, "reason": "already_addressed", "comment": "switched to APAP"})
    assert response.status_code == 302
    with tenant_scope(clinician.tenant):
        dismissal = CardDismissal.objects.get()
    assert (dismissal.rule, dismissal.reason, dismissal.patient.endswith("/Patient/p-001")) == (
        "egfr-nsaid",
        "already_addressed",
        True,
    )
    assert 'data-rule="egfr-nsaid"' not in clinician.get("summary").text
    with all_tenants():
        assert AuditEvent.objects.filter(action="engagement.card.dismiss", outcome="success").exists()


def test_cross_site_post_refused(clinician):
    response = clinician.http.post(clinician.url("dismiss"), data={"card": "x", "reason": "other"},
                                   headers={"Origin": "https://evil.example"}, allow_redirects=False)  # fmt: skip
    assert response.status_code == 403


def test_patient_cannot_open_clinician_pages(patient):
    assert patient.get("summary").status_code == 404
    assert patient.post("dismiss", {"card": "x", "reason": "other"}).status_code == 404


def test_outsider_tenant_gets_404(clinician, tenant_b):
    assert clinician.get("summary", tenant_slug=tenant_b.slug).status_code == 404
    assert clinician.get("vitals", tenant_slug=tenant_b.slug, kind="bp").status_code == 404
    assert clinician.get("summary", handle="not-a-session").status_code == 404


def test_zh_hant_localised(clinician):
    html = clinician.get("summary", params=None).text
    zh = clinician.http.get(clinician.url("summary") + "?lang=zh-hant", timeout=60).text
    assert 'lang="zh-Hant-TW"' in zh and "決策支援" in zh and "決策支援" not in html
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日|\d{4}/\d{1,2}/\d{1,2}", zh)
