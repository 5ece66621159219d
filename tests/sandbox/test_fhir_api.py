"""The sandbox FHIR R4 API over real HTTP: negotiation, errors, read, search, paging, create, scopes."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from apps.sandbox.models import SandboxResource
from tests.sandbox.conftest import FHIR_JSON, HEAVY, HEAVY_OBSERVATIONS

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
VITALS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"
USER_READ = "openid fhirUser user/*.read"


def _outcome(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    return body


def _ids(bundle_entries: list[dict]) -> list[str]:
    return [entry["resource"]["id"] for entry in bundle_entries]


# --- capabilities and HTTP behaviour ----------------------------------------------------------------------------


def test_capability_statement_carries_smart_oauth_uris_for_the_request_host(fhir):
    response = fhir.get("metadata")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    security = body["rest"][0]["security"]
    oauth = next(e for e in security["extension"] if e["url"].endswith("/oauth-uris"))
    uris = {e["url"]: e["valueUri"] for e in oauth["extension"]}
    host = fhir.base.split("/sandbox/")[0]
    assert uris == {
        "authorize": f"{host}/sandbox/oauth/authorize/",
        "token": f"{host}/sandbox/oauth/token/",
        "introspect": f"{host}/sandbox/oauth/introspect/",
        "revoke": f"{host}/sandbox/oauth/revoke/",
    }
    types = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert {"create"} <= {i["code"] for i in types["Observation"]["interaction"]}
    assert "create" not in {i["code"] for i in types["Condition"]["interaction"]}


def test_capability_statement_parses_with_fhirclient_models(fhir):
    from fhirclient.models.capabilitystatement import CapabilityStatement

    statement = CapabilityStatement(fhir.get("metadata").json(), strict=True)
    assert statement.rest[0].security.extension[0].extension[0].valueUri.endswith("/oauth/authorize/")


def test_missing_token_is_401_with_bearer_challenge(fhir):
    response = fhir.get("Patient/p-001")
    _outcome(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_invalid_and_expired_tokens_are_401_invalid_token(fhir):
    for token in ("not-a-token", fhir.token(USER_READ, expires_in=-10)):
        response = fhir.get("Patient/p-001", token)
        _outcome(response, 401)
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_wrong_accept_is_406(fhir):
    token = fhir.token(USER_READ)
    _outcome(fhir.get("Patient/p-001", token, headers={"Accept": "application/fhir+xml"}), 406)
    _outcome(fhir.get("Patient/p-001?_format=xml", token), 406)
    assert fhir.get("Patient/p-001", token, headers={"Accept": "application/json"}).status_code == 200
    assert fhir.get("Patient/p-001", token, headers={"Accept": "*/*"}).status_code == 200


def test_write_with_other_content_type_is_415(fhir):
    token = fhir.token("user/Observation.cruds")
    response = fhir.post("Observation", "<Observation/>", token, headers={"Content-Type": "application/fhir+xml"})
    _outcome(response, 415)


def test_unknown_type_and_unknown_path_are_404_operation_outcomes(fhir):
    token = fhir.token(USER_READ)
    _outcome(fhir.get("Spaceship/1", token), 404)
    _outcome(fhir.get("Patient/p-001/$everything/extra", token), 404)


def test_create_on_read_only_type_is_405(fhir):
    token = fhir.token("user/*.cruds")
    _outcome(fhir.post("Condition", {"resourceType": "Condition", "subject": {"reference": "Patient/p-001"}}, token),
             405)  # fmt: skip


def test_responses_are_not_cached_and_allow_cors(fhir):
    response = fhir.get("Patient/p-001", fhir.token(USER_READ))
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# --- read ------------------------------------------------------------------------------------------------------


def test_read_returns_resource_with_meta_and_etag(fhir):
    response = fhir.get("Patient/p-001", fhir.token(USER_READ))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "p-001" and body["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    assert "Last-Modified" in response.headers
    assert fhir.get("Patient/p-001/_history/1", fhir.token(USER_READ)).json()["id"] == "p-001"
    _outcome(fhir.get("Patient/p-001/_history/2", fhir.token(USER_READ)), 404)


def test_read_unknown_id_is_404(fhir):
    _outcome(fhir.get("Patient/p-999", fhir.token(USER_READ)), 404)


# --- search ----------------------------------------------------------------------------------------------------


def test_paging_walks_every_observation_of_the_heavy_patient_once(fhir):
    entries, bundles = fhir.all_pages(f"Observation?patient={HEAVY}&_count=200", fhir.token(USER_READ))
    ids = _ids(entries)
    assert len(ids) == HEAVY_OBSERVATIONS == len(set(ids))
    assert all(b["total"] == HEAVY_OBSERVATIONS for b in bundles)
    assert len(bundles) == 3
    for bundle in bundles[:-1]:
        next_url = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
        assert next_url.startswith(fhir.base)  # absolute, on the host the client used
    assert all(e["fullUrl"] == f"{fhir.base}Observation/{e['resource']['id']}" for e in entries)


def test_count_is_capped(fhir):
    bundle = fhir.get(f"Observation?patient={HEAVY}&_count=100000", fhir.token(USER_READ)).json()
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert parse_qs(urlsplit(self_link).query)["_count"] == ["1000"]
    assert len(bundle["entry"]) <= 1000


def test_count_zero_and_bad_count(fhir):
    token = fhir.token(USER_READ)
    bundle = fhir.get(f"Observation?patient={HEAVY}&_count=0", token).json()
    assert bundle["total"] == HEAVY_OBSERVATIONS and bundle.get("entry") == []
    _outcome(fhir.get("Observation?_count=abc", token), 400)
    summary = fhir.get(f"Observation?patient={HEAVY}&_summary=count", token).json()
    assert summary["total"] == HEAVY_OBSERVATIONS and summary.get("entry") == []


@pytest.mark.parametrize("sort", ["date", "-date"])
def test_sort_on_date(fhir, sort):
    entries, _ = fhir.all_pages(f"Observation?patient=p-001&_sort={sort}&_count=70", fhir.token(USER_READ))
    dates = [SandboxResource.objects.get(logical_id=e["resource"]["id"]).effective for e in entries]
    assert dates == sorted(dates, reverse=sort.startswith("-"))
    assert len(entries) == SandboxResource.objects.filter(resource_type="Observation", patient_id="p-001").count()


def test_date_prefixes(fhir):
    token = fhir.token(USER_READ)
    rows = SandboxResource.objects.filter(resource_type="Observation", patient_id="p-001")

    def count(query: str) -> int:
        return fhir.get(f"Observation?patient=p-001&{query}&_count=1", token).json()["total"]

    from datetime import UTC, datetime

    start, end = datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
    assert count("date=ge2023-01-01&date=lt2024-01-01") == rows.filter(effective__gte=start, effective__lt=end).count()
    assert count("date=2023") == rows.filter(effective__gte=start, effective__lt=end).count()
    assert count("date=gt2023-12-31") == rows.filter(effective__gte=end).count()
    assert count("date=le2022-12-31") == rows.filter(effective__lt=start).count()
    assert 0 < count("date=2023") < rows.count()
    _outcome(fhir.get("Observation?date=ge2023-13-45", token), 400)


def test_last_updated(fhir):
    token = fhir.token(USER_READ)
    older = fhir.get("Observation?patient=p-001&_lastUpdated=lt2023-01-01&_count=500", token).json()
    newer = fhir.get("Observation?patient=p-001&_lastUpdated=ge2023-01-01&_count=500", token).json()
    assert older["total"] + newer["total"] == fhir.get("Observation?patient=p-001&_count=1", token).json()["total"]
    assert all(e["resource"]["meta"]["lastUpdated"] < "2023-01-01" for e in older["entry"])
    assert all(e["resource"]["meta"]["lastUpdated"] >= "2023-01-01" for e in newer["entry"])


def test_observation_parameters(fhir):
    token = fhir.token(USER_READ)
    labs = fhir.get(f"Observation?subject=Patient/p-001&category={LAB}&_count=500", token).json()
    assert labs["total"] > 0
    assert all(e["resource"]["category"][0]["coding"][0]["code"] == "laboratory" for e in labs["entry"])
    hba1c = fhir.get("Observation?patient=p-001&code=http://loinc.org|4548-4", token).json()
    assert hba1c["total"] > 0
    assert all(e["resource"]["code"]["coding"][0]["code"] == "4548-4" for e in hba1c["entry"])
    both = fhir.get("Observation?patient=p-001&code=4548-4,2160-0&_count=500", token).json()
    assert {e["resource"]["code"]["coding"][0]["code"] for e in both["entry"]} == {"4548-4", "2160-0"}
    # SpO2 carries two LOINC codings; either finds it.
    assert (fhir.get("Observation?patient=p-001&code=2708-6", token).json()["total"]
            == fhir.get("Observation?patient=p-001&code=59408-5", token).json()["total"] > 0)  # fmt: skip
    assert fhir.get("Observation?patient=p-001&code=http://snomed.info/sct|4548-4", token).json()["total"] == 0
    encounter = fhir.get("Encounter?patient=p-001&_count=1", token).json()["entry"][0]["resource"]["id"]
    in_encounter = fhir.get(f"Observation?encounter=Encounter/{encounter}&_count=500", token).json()
    assert in_encounter["total"] > 0
    assert all(e["resource"]["encounter"]["reference"] == f"Encounter/{encounter}" for e in in_encounter["entry"])
    assert fhir.get("Observation?patient=p-001&status=final&_count=1", token).json()["total"] > 0
    assert fhir.get("Observation?patient=p-001&status=cancelled", token).json()["total"] == 0


def test_patient_parameters(fhir):
    token = fhir.token(USER_READ)
    patient = fhir.get("Patient/p-002", token).json()
    national = next(i for i in patient["identifier"] if i["system"] == "http://www.moi.gov.tw/")
    found = fhir.get(f"Patient?identifier=http://www.moi.gov.tw/|{national['value']}", token).json()
    assert _ids(found["entry"]) == ["p-002"]
    mrn = patient["identifier"][1]
    assert _ids(fhir.get(f"Patient?identifier={mrn['value']}", token).json()["entry"]) == ["p-002"]
    assert _ids(fhir.get(f"Patient?name={patient['name'][0]['text']}", token).json()["entry"]) == ["p-002"]
    english_family = patient["name"][1]["family"].lower()
    assert "p-002" in _ids(fhir.get(f"Patient?name={english_family}", token).json()["entry"])
    assert "p-002" in _ids(fhir.get(f"Patient?family={patient['name'][0]['family']}", token).json()["entry"])
    born = fhir.get(f"Patient?birthdate={patient['birthDate']}", token).json()
    assert "p-002" in _ids(born["entry"])
    genders = fhir.get(f"Patient?gender={patient['gender']}", token).json()
    assert genders["total"] > 0 and all(e["resource"]["gender"] == patient["gender"] for e in genders["entry"])
    assert _ids(fhir.get("Patient?_id=p-001,p-003", token).json()["entry"]) == ["p-001", "p-003"]


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("Condition?patient=p-001&code=http://hl7.org/fhir/sid/icd-10-cm|N18.3",
         lambda r: any(c["code"] == "N18.3" for c in r["code"]["coding"])),
        ("Condition?patient=p-001&code=http://snomed.info/sct|433144002",
         lambda r: any(c["code"] == "433144002" for c in r["code"]["coding"])),
        ("Condition?patient=p-001&clinical-status=active",
         lambda r: r["clinicalStatus"]["coding"][0]["code"] == "active"),
        ("MedicationRequest?patient=p-001&code=http://www.nlm.nih.gov/research/umls/rxnorm|5640",
         lambda r: r["medicationCodeableConcept"]["coding"][0]["code"] == "5640"),
        ("MedicationRequest?patient=p-001&status=active&intent=order", lambda r: r["status"] == "active"),
        ("AllergyIntolerance?patient=p-001&code=373270004",
         lambda r: r["code"]["coding"][0]["code"] == "373270004"),
        ("Immunization?patient=p-001&vaccine-code=http://hl7.org/fhir/sid/cvx|150&date=ge2020",
         lambda r: r["vaccineCode"]["coding"][0]["code"] == "150"),
        ("Encounter?patient=p-001&status=finished&class=AMB&date=ge2022-01-01",
         lambda r: r["period"]["start"] >= "2022"),
        ("Procedure?subject=p-001&status=completed", lambda r: r["status"] == "completed"),
        ("DiagnosticReport?patient=p-001&category=LAB&code=11502-2",
         lambda r: r["code"]["coding"][0]["code"] == "11502-2"),
        ("Practitioner?name=Huang", lambda r: r["id"] == "pr-001"),
        ("Practitioner?_id=pr-002", lambda r: r["id"] == "pr-002"),
        ("Questionnaire?url=http://loinc.org/q/44249-1", lambda r: r["id"] == "q-phq9"),
        ("Questionnaire?code=69737-5", lambda r: r["id"] == "q-gad7"),
        ("QuestionnaireResponse?patient=p-004&status=completed&questionnaire=http://loinc.org/q/44249-1",
         lambda r: r["questionnaire"] == "http://loinc.org/q/44249-1"),
    ],
)  # fmt: skip
def test_type_parameters(fhir, query, check):
    bundle = fhir.get(query + "&_count=500", fhir.token(USER_READ)).json()
    assert bundle["total"] > 0, query
    assert all(check(entry["resource"]) for entry in bundle["entry"]), query
    resource_type = query.split("?")[0]
    assert bundle["total"] < SandboxResource.objects.filter(resource_type=resource_type).count() or resource_type in (
        "Questionnaire",
    )


def test_unknown_parameters_are_ignored_unless_strict(fhir):
    token = fhir.token(USER_READ)
    lenient = fhir.get("Observation?patient=p-001&color=blue", token).json()
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "color" not in self_link and lenient["total"] > 0
    strict = fhir.get("Observation?patient=p-001&color=blue", token, headers={"Prefer": "handling=strict"})
    _outcome(strict, 400)


def test_post_search(fhir):
    response = requests.post(
        fhir.base + "Observation/_search",
        data={"patient": "p-001", "code": "4548-4"},
        headers={"Authorization": f"Bearer {fhir.token(USER_READ)}", "Accept": FHIR_JSON},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["total"] > 0


# --- scopes and the patient compartment -------------------------------------------------------------------------


def test_patient_token_cannot_read_another_patients_resources(fhir):
    token = fhir.token("launch/patient patient/*.read", patient_id="p-002")
    assert fhir.get("Patient/p-002", token).status_code == 200
    _outcome(fhir.get("Patient/p-001", token), 404)
    other_obs = SandboxResource.objects.filter(resource_type="Observation", patient_id="p-001").first()
    _outcome(fhir.get(f"Observation/{other_obs.logical_id}", token), 404)
    own_obs = SandboxResource.objects.filter(resource_type="Observation", patient_id="p-002").first()
    assert fhir.get(f"Observation/{own_obs.logical_id}", token).status_code == 200


def test_patient_token_search_is_limited_to_its_compartment(fhir):
    token = fhir.token("patient/Observation.rs patient/Patient.rs", patient_id="p-002")
    entries, _ = fhir.all_pages("Observation?_count=200", token)
    assert entries and {e["resource"]["subject"]["reference"] for e in entries} == {"Patient/p-002"}
    assert fhir.get("Observation?patient=p-001", token).json()["total"] == 0
    assert fhir.get(f"Observation?subject=Patient/{HEAVY}", token).json()["total"] == 0
    assert _ids(fhir.get("Patient", token).json()["entry"]) == ["p-002"]
    assert _ids(fhir.get("Patient?_id=p-001", token).json()["entry"]) == []


def test_patient_token_may_read_non_compartment_resources(fhir):
    token = fhir.token("patient/*.rs", patient_id="p-002")
    assert fhir.get("Practitioner/pr-001", token).status_code == 200
    assert fhir.get("Questionnaire/q-phq9", token).status_code == 200
    _outcome(fhir.get("Group/grp-all", token), 403)  # a Group lists other patients


def test_user_token_reads_any_patient(fhir):
    token = fhir.token("openid fhirUser user/*.rs", fhir_user="Practitioner/pr-001")
    assert fhir.get("Patient/p-001", token).status_code == 200
    assert fhir.get("Patient/p-003", token).status_code == 200
    assert fhir.get("Patient?_count=100", token).json()["total"] == 5


def test_type_not_granted_is_403(fhir):
    token = fhir.token("patient/Observation.rs", patient_id="p-001")
    response = fhir.get("Condition?patient=p-001", token)
    _outcome(response, 403)
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    _outcome(fhir.get("Patient/p-001", token), 403)


def test_search_only_scope_cannot_read_and_read_only_cannot_search(fhir):
    own = SandboxResource.objects.filter(resource_type="Observation", patient_id="p-001").first().logical_id
    search_only = fhir.token("patient/Observation.s", patient_id="p-001")
    assert fhir.get("Observation", search_only).status_code == 200
    _outcome(fhir.get(f"Observation/{own}", search_only), 403)
    read_only = fhir.token("patient/Observation.r", patient_id="p-001")
    assert fhir.get(f"Observation/{own}", read_only).status_code == 200
    _outcome(fhir.get("Observation", read_only), 403)


def test_system_scopes_on_a_user_token_grant_nothing(fhir):
    _outcome(fhir.get("Patient/p-001", fhir.token("system/*.read")), 403)


def test_granular_category_scope(fhir):
    token = fhir.token(f"patient/Observation.rs?category={LAB}", patient_id="p-001")
    entries, _ = fhir.all_pages("Observation?_count=200", token)
    assert entries
    assert all(e["resource"]["category"][0]["coding"][0]["code"] == "laboratory" for e in entries)
    mine = SandboxResource.objects.filter(resource_type="Observation", patient_id="p-001")
    labs = mine.filter(text__contains='"laboratory"')
    assert len(entries) == labs.count()
    assert fhir.get(f"Observation?category={VITALS}", token).json()["total"] == 0
    vital = SandboxResource.objects.filter(
        resource_type="Observation", patient_id="p-001", text__contains='"vital-signs"'
    ).first()
    _outcome(fhir.get(f"Observation/{vital.logical_id}", token), 404)
    assert fhir.get(f"Observation/{labs.first().logical_id}", token).status_code == 200


# --- create ----------------------------------------------------------------------------------------------------


def _heart_rate(patient: str = "p-002") -> dict:
    return {
        "resourceType": "Observation",
        "id": "client-chosen",
        "status": "final",
        "category": [{"coding": [{"system": VITALS.split("|")[0], "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2025-07-01T09:00:00+08:00",
        "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
    }


def _phq9_response(patient: str = "p-002") -> dict:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "http://loinc.org/q/44249-1",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "authored": "2025-07-01T10:00:00+08:00",
        "item": [
            {"linkId": "44250-9", "answer": [{"valueCoding": {"system": "http://loinc.org", "code": "LA6568-5"}}]}
        ],
    }


@pytest.mark.parametrize(("resource_type", "factory"), [("Observation", _heart_rate),
                                                        ("QuestionnaireResponse", _phq9_response)])  # fmt: skip
def test_create_assigns_id_version_and_location(fhir, resource_type, factory):
    token = fhir.token(f"launch/patient patient/{resource_type}.cruds", patient_id="p-002")
    response = fhir.post(resource_type, factory(), token)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] != "client-chosen" and body["meta"]["versionId"] == "1" and body["meta"]["lastUpdated"]
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"{fhir.base}{resource_type}/{body['id']}/_history/1"
    again = fhir.get(response.headers["Location"], token)
    assert again.status_code == 200 and again.json() == body
    found = fhir.get(f"{resource_type}?patient=p-002&_lastUpdated=ge{body['meta']['lastUpdated']}", token).json()
    assert body["id"] in _ids(found["entry"])


def test_create_return_minimal(fhir):
    token = fhir.token("user/Observation.cruds")
    response = fhir.post("Observation", _heart_rate(), token, headers={"Prefer": "return=minimal"})
    assert response.status_code == 201 and response.content == b"" and "/_history/1" in response.headers["Location"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**_heart_rate(), "resourceType": "Condition"}, "does not match"),
        ({k: v for k, v in _heart_rate().items() if k != "status"}, "Observation.status is required"),
        ({k: v for k, v in _heart_rate().items() if k != "code"}, "Observation.code is required"),
        ({k: v for k, v in _heart_rate().items() if k != "subject"}, "Observation.subject is required"),
        ({**_heart_rate(), "status": "done"}, "value set"),
        ({**_heart_rate(), "valueQuantity": {"value": "seventy"}}, "must be a number"),
        ({**_heart_rate(), "effectiveDateTime": "yesterday"}, "not a valid FHIR date"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_create_structure_errors_are_400(fhir, body, message):
    response = fhir.post("Observation", body, fhir.token("user/Observation.cruds"))
    outcome = _outcome(response, 400)
    assert any(message in issue["diagnostics"] for issue in outcome["issue"]), outcome


@pytest.mark.parametrize(
    ("missing", "message"),
    [("questionnaire", "questionnaire is required"), ("subject", "subject is required"),
     ("status", "status is required")],
)  # fmt: skip
def test_questionnaire_response_requires_questionnaire_status_subject(fhir, missing, message):
    body = {k: v for k, v in _phq9_response().items() if k != missing}
    outcome = _outcome(fhir.post("QuestionnaireResponse", body, fhir.token("user/QuestionnaireResponse.c")), 400)
    assert any(message in issue["diagnostics"] for issue in outcome["issue"])


def test_create_bad_json_and_unknown_subject(fhir):
    token = fhir.token("user/Observation.cruds")
    _outcome(fhir.post("Observation", "{not json", token), 400)
    _outcome(fhir.post("Observation", _heart_rate("p-404"), token), 422)


def test_create_needs_write_scope_and_stays_in_compartment(fhir):
    reader = fhir.token("patient/Observation.rs", patient_id="p-002")
    _outcome(fhir.post("Observation", _heart_rate(), reader), 403)
    writer = fhir.token("patient/Observation.cruds", patient_id="p-002")
    _outcome(fhir.post("Observation", _heart_rate("p-001"), writer), 403)
    assert not SandboxResource.objects.filter(text__contains='"2025-07-01T09:00:00+08:00"').exists()


def test_granular_write_scope_checks_the_new_resource(fhir):
    token = fhir.token(f"patient/Observation.c?category={LAB}", patient_id="p-002")
    _outcome(fhir.post("Observation", _heart_rate(), token), 403)
    lab = {**_heart_rate(), "category": [{"coding": [{"system": LAB.split("|")[0], "code": "laboratory"}]}]}
    assert fhir.post("Observation", lab, token).status_code == 201


def test_created_json_is_stored_as_served(fhir):
    token = fhir.token("user/Observation.cruds")
    body = fhir.post("Observation", _heart_rate(), token).json()
    stored = SandboxResource.objects.get(resource_type="Observation", logical_id=body["id"])
    assert json.loads(stored.text) == body and stored.patient_id == "p-002"
