"""Browser journeys in real Chromium (Playwright) through the whole launch: the sandbox's EHR simulator embeds
CareLaunch in a cross-origin iframe (EHR at localhost, CareLaunch at 127.0.0.1) for a clinician; a patient
launches standalone on a phone-sized screen. axe-core checks every page (no serious/critical violations) and
each page is saved under docs/screenshots/ in English and 繁體中文.

axe-core comes from npm (tests/engagement/package.json); it is installed on first use when missing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import requests

from apps.core.tenancy import tenant_scope
from apps.engagement.models import CardDismissal, StoredResponse
from apps.sandbox import services as sandbox_services
from apps.sandbox.data.generator import generate
from apps.sandbox.grants import issue_grant
from apps.sandbox.oauth.services import ensure_sandbox_user
from tests.smart.conftest import PASSWORD, App, Ehr, connect
from tests.support.browser import BLOCK_THIRD_PARTY_COOKIES, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
# The committed screenshots (docs/screenshots) are refreshed only on request, so a test run never edits tracked
# files: UPDATE_SCREENSHOTS=1 make test. Otherwise they go to the git-ignored test-results/.
ROOT = HERE.parent.parent
SHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "test-results/screenshots")
WRITE_SCOPES = "launch/patient openid fhirUser patient/*.rs patient/QuestionnaireResponse.c patient/Observation.c"


def axe_source() -> str:
    if not AXE.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)
    return AXE.read_text()


def check_axe(frame) -> None:
    frame.evaluate(axe_source())
    result = frame.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["help"], [n["target"] for n in v["nodes"][:3]]) for v in bad]


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def ehr(live_server, transactional_db) -> Ehr:
    """The sandbox with its full synthetic record set (p-001: CKD 3 + diabetes + ibuprofen)."""
    sandbox_services.bulk_insert(generate(patients=4, heavy=0).resources)
    ensure_sandbox_user(username="pr-001", fhir_user="Practitioner/pr-001", display_name="黃建民", password=PASSWORD)
    ensure_sandbox_user(username="p-001", fhir_user="Patient/p-001", display_name="p-001", password=PASSWORD)
    return Ehr(origin=live_server.url, fhir=f"{live_server.url}/sandbox/fhir")


@pytest.fixture
def app(live_server, settings) -> App:
    """CareLaunch at 127.0.0.1, the EHR at localhost: two sites, as in tests/smart."""
    origin = live_server.url.replace("http://localhost:", "http://127.0.0.1:")
    settings.PUBLIC_URL = origin
    return App(origin=origin)


@pytest.fixture
def browser_context():
    with chromium(BLOCK_THIRD_PARTY_COOKIES) as browser:
        yield browser


def both_languages(frame, url: str, name: str, page, check=None) -> None:
    """Visit url in English and 繁體中文: axe each, screenshot each."""
    for lang in ("en", "zh-hant"):
        frame.goto(f"{url}{'&' if '?' in url else '?'}lang={lang}")
        if check:
            check(frame, lang)
        check_axe(frame)
        shoot(page, f"{name}-{lang}")


def test_clinician_ehr_launch_summary_vitals_lab_dismiss(browser_context, ehr, app, tenant_a, monkeypatch):
    connect(tenant_a, ehr.fhir)
    context = browser_context.new_context(locale="en-US", viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{ehr.simulator}?practitioner=pr-001&patient=p-001")
    encounter = page.locator("#id_encounter option").nth(1).get_attribute("value")
    page.select_option("#id_encounter", encounter)
    page.fill("#id_launch_url", f"{app.origin}/launch")
    page.check("#id_banner")
    page.check("#id_embed")
    page.click("button.primary")
    frame_locator = page.frame_locator("iframe.app-frame")
    frame_locator.locator("button[value=allow]").click()
    frame_locator.locator("[data-testid=patient-banner]").wait_for()
    frame = next(f for f in page.frames if f.url.startswith(app.origin))
    base = frame.url.split("?")[0].rstrip("/") + "/e/"

    def summary_ok(f, lang):
        assert f.locator("[data-testid=patient-banner]").count() == 1
        assert "****" in f.locator("[data-testid=patient-banner]").inner_text()
        assert f.locator("[data-rule=egfr-nsaid]").count() == 1
        assert f.locator("[data-testid=launch-encounter]").count() == 1

    both_languages(frame, base + "summary", "clinician-summary", page, summary_ok)
    frame.goto(base + "summary")
    frame.click("a[href*='/e/vitals/bp']")
    frame.wait_for_selector("figure.chart svg[role=img]")
    assert "Blood pressure" in frame.locator("[data-testid=detail-title]").inner_text()
    both_languages(frame, base + "vitals/bp", "clinician-vitals-bp", page)
    frame.goto(base + "summary")
    frame.click("a[href*='/e/labs/egfr']")
    frame.wait_for_selector("svg rect.band")
    both_languages(frame, base + "labs/egfr", "clinician-lab-egfr", page)
    frame.goto(base + "labs/?sort=-value&flag=high")
    frame.wait_for_selector("[data-testid=labs-table]")
    check_axe(frame)

    frame.goto(base + "summary")
    card = frame.locator("[data-rule=egfr-nsaid]")
    card.locator("summary").click()
    card.locator("select[name=reason]").select_option("already_addressed")
    card.locator("input[name=comment]").fill("Switched to acetaminophen")
    card.locator("button[type=submit]").click()
    frame.wait_for_load_state()
    frame.wait_for_selector("#decision-support")
    assert frame.locator("[data-rule=egfr-nsaid]").count() == 0
    shoot(page, "clinician-summary-after-dismiss-en")
    with tenant_scope(tenant_a):
        dismissal = CardDismissal.objects.get()
    assert dismissal.rule == "egfr-nsaid" and dismissal.reason == "already_addressed"
    context.close()


def test_patient_standalone_record_phq9_read_back(browser_context, ehr, app, tenant_a, monkeypatch):
    connect(tenant_a, ehr.fhir, scopes=WRITE_SCOPES)
    context = browser_context.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app.origin}/launch/patient/")
    page.click("text=Alpha Hospital")
    page.fill("#id_username", "p-001")
    page.fill("#id_password", PASSWORD)
    page.click("button.primary")
    page.click("button[value=allow]")
    page.wait_for_url(f"{app.origin}/t/alpha/app/**")
    base = page.url.split("?")[0].rstrip("/") + "/e/"

    def record_ok(f, lang):
        assert f.locator("h2").first.inner_text() in ("Your health record", "您的健康紀錄")

    both_languages(page.main_frame, base + "record", "patient-record", page, record_ok)
    both_languages(page.main_frame, base + "labs/hba1c", "patient-history-hba1c", page)
    both_languages(page.main_frame, base + "questionnaires/phq9", "patient-phq9", page)

    page.goto(base + "questionnaires/phq9")
    page.click("button[type=submit]")  # nothing answered: errors in place
    page.wait_for_selector("[data-testid=error-summary]")
    check_axe(page.main_frame)
    shoot(page, "patient-phq9-errors-en")
    for i in range(1, 10):
        page.check(f"input[name=item-{i}][value='{1 if i < 9 else 0}']")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=write-status][data-status=sent]")
    assert "8" in page.locator("[data-testid=score]").inner_text()
    response_url = page.url.split("?")[0]
    both_languages(page.main_frame, response_url, "patient-phq9-result", page)

    with tenant_scope(tenant_a):
        stored = StoredResponse.objects.get()
    token = issue_grant(client_id="journey-reader", scopes="patient/*.rs", patient_id="p-001")
    bundle = requests.get(f"{ehr.fhir}/QuestionnaireResponse", params={"patient": "p-001", "_count": 200},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30).json()  # fmt: skip
    ids = [entry["resource"]["id"] for entry in bundle.get("entry", [])]
    assert stored.remote_response_id in ids
    read_back = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == stored.remote_response_id)
    assert read_back["questionnaire"] == "http://loinc.org/q/44249-1" and read_back["status"] == "completed"
    context.close()
