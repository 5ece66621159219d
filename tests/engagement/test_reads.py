"""Parallel, paged, cached reads and graceful degradation, over live HTTP against the sandbox."""

from __future__ import annotations

import threading

import pytest
import responses

from apps.engagement import fhir_reads
from apps.smart import outbound as smart_http
from tests.engagement.conftest import make_launch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbound(monkeypatch):
    calls: list[tuple[str, int]] = []
    original = smart_http.request

    def spy(method, url, **kwargs):
        calls.append((url, threading.get_ident()))
        return original(method, url, **kwargs)

    monkeypatch.setattr(smart_http, "request", spy)
    return calls


def test_summary_reads_in_parallel_then_from_cache(clinician, outbound):
    assert clinician.get("summary").status_code == 200
    fhir_calls = [c for c in outbound if "/sandbox/fhir/" in c[0]]
    types = {c[0].split("/sandbox/fhir/")[1].split("?")[0].split("/")[0] for c in fhir_calls}
    assert types >= {"Patient", "Observation", "Condition", "MedicationRequest", "AllergyIntolerance",
                     "Immunization", "Encounter", "QuestionnaireResponse"}  # fmt: skip
    assert len({thread for _url, thread in fhir_calls}) > 1, "reads ran in one thread"
    outbound.clear()
    assert clinician.get("summary").status_code == 200
    assert clinician.get("vitals", kind="bp").status_code == 200
    assert [c for c in outbound if "/sandbox/fhir/" in c[0]] == [], "navigation refetched"


def test_paging_followed_one_query_per_type(live, tenant_a, tenant_b, sandbox_records, outbound, monkeypatch):
    query = fhir_reads.QUERIES["observations"]
    monkeypatch.setitem(fhir_reads.QUERIES, "observations",
                        fhir_reads.Query("Observation", (("_count", "50"),), query.parse))  # fmt: skip
    launched = make_launch(live, tenant_a, patient="p-h01", fhir_user="Practitioner/pr-001")
    reads = fhir_reads.read(launched.grant, ["observations"])
    assert len(reads.data("observations")) >= 400  # 400 home readings (+ BP components)
    observation_calls = [u for u, _t in outbound if "/Observation" in u]
    assert len(observation_calls) >= 8
    assert sum(1 for u in observation_calls if "_count=50" in u and "patient=" in u and "_offset" not in u) == 1


def test_cache_is_per_grant(live, tenant_a, tenant_b, sandbox_records, outbound):
    one = make_launch(live, tenant_a, patient="p-001", fhir_user="Practitioner/pr-001")
    two = make_launch(live, tenant_b, patient="p-002", fhir_user="Practitioner/pr-001")
    assert fhir_reads.cache_key(one.grant, "observations") != fhir_reads.cache_key(two.grant, "observations")
    first = fhir_reads.read(one.grant, ["patient"]).data("patient")
    second = fhir_reads.read(two.grant, ["patient"]).data("patient")
    assert (first["id"], second["id"]) == ("p-001", "p-002")


def test_scope_not_granted_sections_say_so(live, tenant_a, tenant_b, sandbox_records):
    launched = make_launch(live, tenant_a, patient="p-001", fhir_user="Practitioner/pr-001",
                           scopes="launch openid fhirUser patient/Patient.rs patient/Observation.rs")  # fmt: skip
    html = launched.get("summary").text
    assert "CareLaunch was not given permission to read this" in html
    assert 'data-rule="influenza-vaccine-due"' not in html
    assert "Not checked" in html


def test_ehr_404_500_and_operation_outcome_degrade(clinician):
    base = f"{clinician.base}/sandbox/fhir"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, f"{base}/Immunization", status=404)
        mock.add(responses.GET, f"{base}/Encounter", status=500)
        mock.add(responses.GET, f"{base}/Condition", json={"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}}]})  # fmt: skip
        mock.add(responses.GET, f"{base}/AllergyIntolerance", body="not json{", status=200)
        mock.add_passthru(clinician.base)
        response = clinician.get("summary")
    assert response.status_code == 200
    html = response.text
    assert html.count("system does not provide this") >= 2  # 404 and OperationOutcome
    assert "did not answer" in html


def test_grant_ended_shows_relaunch(clinician):
    from apps.core.tenancy import tenant_scope
    from apps.smart.models import TokenGrant

    with tenant_scope(clinician.tenant):
        TokenGrant.objects.filter(pk=clinician.grant.pk).update(status="revoked")
    response = clinician.get("summary")
    assert response.status_code in (401, 403, 410) or "launch" in response.text.lower()
