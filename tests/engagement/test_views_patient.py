"""Patient pages over live HTTP: plain language, compartment confinement, questionnaires written back."""

from __future__ import annotations

import re

import pytest
import requests

from apps.core.tenancy import tenant_scope
from apps.engagement.models import StoredResponse
from apps.sandbox.grants import issue_grant
from apps.smart.models import LaunchMode
from tests.engagement.conftest import READ_SCOPES, make_launch

pytestmark = pytest.mark.django_db(transaction=True)

PHQ9_ANSWERS = {f"item-{i}": "2" for i in range(1, 10)}  # 9 × 2 = 18, moderately severe


def test_record_in_plain_language(patient):
    assert patient.get("home").headers["Location"].split("?")[0].endswith("/e/record")
    html = patient.get("record").text
    assert "Your health record" in html
    assert "higher than the usual range" in html or "in the usual range" in html
    assert "millilitres of blood filtered per minute" in html  # eGFR unit explained
    assert "data-rule=" not in html  # no clinician decision support for patients


def test_patient_history_page_explains(patient):
    html = patient.get("lab", key="hba1c").text
    assert "Your average blood sugar" in html and "Your latest result was" in html


def test_phq9_written_back_and_read_from_sandbox(patient):
    form = patient.get("questionnaire", slug="phq9")
    assert form.status_code == 200
    assert form.text.count("<fieldset") == 9 and "<legend>" in form.text
    response = patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
    assert response.status_code == 302
    page = patient.http.get(patient.base + response.headers["Location"], timeout=60).text
    assert 'data-status="sent"' in page and "18" in page
    with tenant_scope(patient.tenant):
        stored = StoredResponse.objects.get()
    assert stored.status == "sent" and stored.score == 18 and stored.remote_response_id
    assert stored.remote_observation_id
    token = issue_grant(client_id="reader", scopes="patient/*.rs", patient_id="p-001")
    qr = requests.get(f"{patient.base}/sandbox/fhir/QuestionnaireResponse/{stored.remote_response_id}",
                      headers={"Authorization": f"Bearer {token}"}, timeout=30).json()  # fmt: skip
    assert qr["questionnaire"] == "http://loinc.org/q/44249-1" and qr["subject"]["reference"] == "Patient/p-001"
    total = next(i for i in qr["item"] if i["linkId"] == "44261-6")["answer"][0]["valueInteger"]
    assert total == 18
    obs = requests.get(f"{patient.base}/sandbox/fhir/Observation/{stored.remote_observation_id}",
                       headers={"Authorization": f"Bearer {token}"}, timeout=30).json()  # fmt: skip
    assert obs["code"]["coding"][0]["code"] == "44261-6" and obs["valueInteger"] == 18
    assert obs["derivedFrom"][0]["reference"] == f"QuestionnaireResponse/{stored.remote_response_id}"
    # The new score shows up without waiting for the cache to expire.
    assert "18 / 27" in patient.get("scores").text


def test_missing_answers_shown_in_place(patient):
    answers = dict(PHQ9_ANSWERS)
    del answers["item-3"]
    response = patient.post("questionnaire", answers, slug="phq9")
    assert response.status_code == 400
    assert 'data-testid="error-summary"' in response.text and 'aria-invalid="true"' in response.text
    assert 'id="item-3-error"' in response.text
    with tenant_scope(patient.tenant):
        assert not StoredResponse.objects.exists()


def test_without_write_scope_kept_locally_and_says_why(live, tenant_a, tenant_b, sandbox_records):
    launched = make_launch(live, tenant_a, patient="p-002", fhir_user="Patient/p-002", mode=LaunchMode.PATIENT,
                           scopes=READ_SCOPES)  # fmt: skip
    assert "kept in CareLaunch only" in launched.get("questionnaire", slug="gad7").text
    response = launched.post("questionnaire", {f"item-{i}": "1" for i in range(1, 8)}, slug="gad7")
    page = launched.http.get(launched.base + response.headers["Location"], timeout=60).text
    assert 'data-status="not_sent"' in page and "did not give CareLaunch permission" in page
    with tenant_scope(tenant_a):
        stored = StoredResponse.objects.get()
    assert (stored.status, stored.not_sent_reason, stored.score, stored.remote_response_id) == (
        "not_sent",
        "no_write_scope",
        7,
        "",
    )


def test_ehr_questionnaire_generic_types(patient, live):
    """A Questionnaire the EHR serves (not PHQ-9/GAD-7) is rendered and answered, unscored."""
    from django.utils import timezone

    from apps.sandbox import services as sandbox_services

    questionnaire = {
        "resourceType": "Questionnaire", "id": "q-sleep", "url": "https://ehr.example/q/sleep", "status": "active",
        "title": "Sleep check",
        "item": [
            {"linkId": "g", "type": "group", "text": "About you", "item": [
                {"linkId": "hours", "type": "decimal", "text": "Hours of sleep", "required": True},
                {"linkId": "naps", "type": "integer", "text": "Naps per week"},
                {"linkId": "snore", "type": "boolean", "text": "Do you snore?"},
                {"linkId": "since", "type": "date", "text": "Since when?"},
                {"linkId": "note", "type": "string", "text": "Anything else"},
                {"linkId": "mood", "type": "choice", "text": "Mood", "answerOption": [
                    {"valueCoding": {"code": "good", "display": "Good"}},
                    {"valueCoding": {"code": "bad", "display": "Bad"}}]},
            ]},
        ],
    }  # fmt: skip
    sandbox_services.bulk_insert([(questionnaire, timezone.now())])
    listing = patient.get("questionnaires").text
    assert "Sleep check" in listing
    form = patient.get("questionnaire", slug="q-q-sleep")
    assert form.status_code == 200 and 'inputmode="decimal"' in form.text and 'type="date"' in form.text
    bad = patient.post("questionnaire", {"item-2": "lots"}, slug="q-q-sleep")
    assert bad.status_code == 400 and "Please enter a number." in bad.text
    ok = patient.post("questionnaire", {"item-2": "7.5", "item-3": "1", "item-4": "true", "item-5": "2025-01-02",
                                        "item-6": "<b>hi</b>", "item-7": "0"}, slug="q-q-sleep")  # fmt: skip
    assert ok.status_code == 302
    with tenant_scope(patient.tenant):
        stored = StoredResponse.objects.get()
    assert stored.status == "sent" and stored.score is None and stored.instrument == ""
    page = patient.http.get(patient.base + ok.headers["Location"], timeout=60).text
    assert "&lt;b&gt;hi&lt;/b&gt;" in page


def test_patient_outsider_404_and_other_patients_response(patient, live, tenant_a, tenant_b, sandbox_records):
    response = patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
    pk = int(re.search(r"/responses/(\d+)", response.headers["Location"]).group(1))
    assert patient.get("response", pk=pk, tenant_slug=tenant_b.slug).status_code == 404
    other = make_launch(live, tenant_a, patient="p-002", fhir_user="Patient/p-002", mode=LaunchMode.PATIENT)
    assert other.get("response", pk=pk).status_code == 404
    outsider = make_launch(live, tenant_b, patient="p-001", fhir_user="Patient/p-001", mode=LaunchMode.PATIENT)
    assert outsider.get("response", pk=pk).status_code == 404
    assert patient.get("record", tenant_slug=tenant_b.slug).status_code == 404
