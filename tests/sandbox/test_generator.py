"""The deterministic synthetic-data generator and `manage.py seed_sandbox`."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from apps.sandbox.data import twid
from apps.sandbox.data.generator import MOI, generate
from apps.sandbox.models import SandboxResource, SandboxToken


def _dump(dataset) -> list[str]:
    return [json.dumps([r, when.isoformat()], sort_keys=True, ensure_ascii=False) for r, when in dataset.resources]


def _by_type(dataset, resource_type: str) -> list[dict]:
    return [r for r, _ in dataset.resources if r["resourceType"] == resource_type]


@pytest.fixture(scope="module")
def dataset():
    return generate(patients=25, heavy=2, heavy_observations=5000)


def test_same_input_same_output():
    assert _dump(generate(patients=6, heavy=1, heavy_observations=300)) == _dump(
        generate(patients=6, heavy=1, heavy_observations=300)
    )


def test_another_seed_gives_other_data():
    assert _dump(generate(patients=3, heavy=0, seed=1)) != _dump(generate(patients=3, heavy=0, seed=2))


def test_adding_patients_does_not_change_existing_ones():
    small = {r["id"]: r for r, _ in generate(patients=3, heavy=0).resources}
    large = {r["id"]: r for r, _ in generate(patients=5, heavy=0).resources}
    assert all(large[key] == value for key, value in small.items() if not key.startswith("grp-"))


def test_national_id_check_digit():
    assert twid.is_valid("A123456789")  # the MOI's own example
    assert not twid.is_valid("A123456788")
    assert not twid.is_valid("A323456789")
    assert twid.make("A", 1, "2345678") == "A123456789"


def test_patients_have_tw_core_identifiers_and_bilingual_names(dataset):
    patients = _by_type(dataset, "Patient")
    assert len(patients) == 27
    ids = set()
    for patient in patients:
        national = next(i for i in patient["identifier"] if i["system"] == MOI)
        assert twid.is_valid(national["value"]), national
        assert national["type"]["coding"][0]["code"] == "NNxxx"
        assert national["value"][1] == ("1" if patient["gender"] == "male" else "2")
        mrn = next(i for i in patient["identifier"] if i["type"]["coding"][0]["code"] == "MR")
        assert mrn["system"].startswith("https://") and mrn["value"].isdigit()
        ids.add(national["value"])
        zh, en = patient["name"]
        assert zh["use"] == "official" and all("\u4e00" <= ch <= "\u9fff" for ch in zh["text"])
        assert en["use"] == "usual" and en["text"].isascii()
    assert len(ids) == len(patients)


def test_clinical_content(dataset):
    observations = _by_type(dataset, "Observation")
    codes = {c["code"] for o in observations for c in o["code"]["coding"]}
    assert {"85354-9", "8867-4", "29463-7", "39156-5", "59408-5", "2708-6", "8310-5", "8302-2"} <= codes
    assert {"4548-4", "33914-3", "2160-0", "2823-3", "718-7"} <= codes
    assert {"18262-6", "13457-7"} & codes
    bp = next(o for o in observations if o["code"]["coding"][0]["code"] == "85354-9")
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    hba1c = next(o for o in observations if o["code"]["coding"][0]["code"] == "4548-4")
    assert hba1c["referenceRange"] and hba1c["interpretation"][0]["coding"][0]["code"] in {"H", "L", "N"}
    for condition in _by_type(dataset, "Condition"):
        systems = {c["system"] for c in condition["code"]["coding"]}
        assert systems == {"http://hl7.org/fhir/sid/icd-10-cm", "http://snomed.info/sct"}
    questionnaires = {q["id"]: q for q in _by_type(dataset, "Questionnaire")}
    assert questionnaires["q-phq9"]["code"][0]["code"] == "44249-1"
    assert questionnaires["q-gad7"]["code"][0]["code"] == "69737-5"
    assert len(_by_type(dataset, "Practitioner")) >= 3
    for resource_type in ("MedicationRequest", "AllergyIntolerance", "Immunization", "Encounter", "Procedure",
                          "DiagnosticReport", "QuestionnaireResponse"):  # fmt: skip
        assert _by_type(dataset, resource_type), resource_type


def test_edge_cases_and_heavy_patients(dataset):
    def of(resource_type: str, pid: str) -> list[dict]:
        key = "patient" if resource_type in ("AllergyIntolerance", "Immunization") else "subject"
        return [r for r in _by_type(dataset, resource_type) if r[key]["reference"] == f"Patient/{pid}"]

    assert of("AllergyIntolerance", "p-002") == []
    assert of("Encounter", "p-003") == [] and of("Observation", "p-003")
    assert {c["code"]["coding"][0]["code"] for c in of("Condition", "p-001")} >= {"N18.3", "E11.9"}
    meds = {c["code"] for m in of("MedicationRequest", "p-001") for c in m["medicationCodeableConcept"]["coding"]}
    assert "5640" in meds and "M01AE01" in meds  # ibuprofen, RxNorm and ATC
    flu_years = {i["occurrenceDateTime"][:4] for i in of("Immunization", "p-001") if
                 i["vaccineCode"]["coding"][0]["code"] == "150"}  # fmt: skip
    assert "2024" not in flu_years  # missed the latest season
    seasons = [{i["occurrenceDateTime"][:4] for i in of("Immunization", f"p-{n:03d}")} for n in range(1, 26)]
    assert any(len(s) >= 2 for s in seasons) and any(len(s) < 5 for s in seasons)
    for heavy in ("p-h01", "p-h02"):
        assert len(of("Observation", heavy)) == 5000


def test_seed_sandbox_is_idempotent(db):
    args = ["--patients", "3", "--heavy", "1", "--heavy-observations", "200"]
    call_command("seed_sandbox", *args, stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = dict(SandboxResource.objects.values_list("logical_id", "text"))
    tokens = SandboxToken.objects.count()
    call_command("seed_sandbox", *args, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert dict(SandboxResource.objects.values_list("logical_id", "text")) == first
    assert SandboxToken.objects.count() == tokens
    assert SandboxResource.objects.filter(resource_type="Observation", patient_id="p-h01").count() == 200
