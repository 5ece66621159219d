"""`manage.py import_fhir_bundle` on a small Synthea-style transaction bundle kept in the tests."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.sandbox.models import SandboxResource, SandboxToken

FIXTURE = Path(__file__).parent / "fixtures" / "synthea_small.json"
PATIENT = "6f1c8c3e-2b5a-4c1e-9d7e-0a1b2c3d4e01"
ENCOUNTER = "6f1c8c3e-2b5a-4c1e-9d7e-0a1b2c3d4e02"
PRACTITIONER = "0000016d-3a85-4cca-0000-000000000001"


def _run(path: Path) -> str:
    out = io.StringIO()
    call_command("import_fhir_bundle", str(path), stdout=out)
    return out.getvalue()


def _stored(resource_type: str) -> list[dict]:
    texts = SandboxResource.objects.filter(resource_type=resource_type).values_list("text", flat=True)
    return [json.loads(text) for text in texts]


def _write(tmp_path: Path, bundle) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle) if not isinstance(bundle, str) else bundle)
    return path


@pytest.mark.django_db
def test_imports_resolves_references_and_reports_counts():
    output = _run(FIXTURE)
    assert "Observation" in output and "created      1" in output
    assert "Claim" in output and "skipped" in output and "Organization" in output
    assert "Imported 8 resources" in output
    assert SandboxResource.objects.count() == 8
    assert not SandboxResource.objects.filter(resource_type__in=["Claim", "Organization"]).exists()
    observation = _stored("Observation")[0]
    assert observation["subject"] == {"reference": f"Patient/{PATIENT}"}
    assert observation["encounter"] == {"reference": f"Encounter/{ENCOUNTER}"}
    report = _stored("DiagnosticReport")[0]
    assert report["result"][0]["reference"] == f"Observation/{observation['id']}"
    encounter = _stored("Encounter")[0]
    assert encounter["participant"][0]["individual"]["reference"] == f"Practitioner/{PRACTITIONER}"
    assert _stored("MedicationRequest")[0]["requester"]["reference"] == f"Practitioner/{PRACTITIONER}"
    # Indexed for search: the compartment and tokens are in place.
    row = SandboxResource.objects.get(resource_type="Observation")
    assert row.patient_id == PATIENT and row.effective is not None
    assert SandboxToken.objects.filter(resource=row, param="code", code="4548-4").exists()
    assert SandboxResource.objects.get(resource_type="Immunization").patient_id == PATIENT


@pytest.mark.django_db
def test_reimport_replaces_with_new_versions_instead_of_duplicating():
    _run(FIXTURE)
    output = _run(FIXTURE)
    assert "updated      1" in output
    assert SandboxResource.objects.count() == 8
    assert set(SandboxResource.objects.values_list("version_id", flat=True)) == {2}
    patient = _stored("Patient")[0]
    assert patient["meta"]["versionId"] == "2"


def _broken(mutate) -> dict:
    bundle = json.loads(FIXTURE.read_text())
    mutate(bundle)
    return bundle


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"resourceType": "Patient"}, "not a FHIR Bundle"),
        (_broken(lambda b: b.update(type="searchset")), "Bundle.type"),
        (_broken(lambda b: b.update(entry=[])), "missing or empty"),
        (_broken(lambda b: b["entry"][5]["resource"].pop("status")), "Observation.status is required"),
        (_broken(lambda b: b["entry"][5]["resource"].update(subject={"reference": "Patient/nobody"})),
         "neither in the bundle nor stored"),
        (_broken(lambda b: b["entry"].append(copy.deepcopy(b["entry"][0]))), "appears twice"),
        (_broken(lambda b: b["entry"][1]["request"].update(url="Patient/x")), "does not name a Practitioner"),
    ],
)  # fmt: skip
def test_invalid_bundles_are_rejected_and_nothing_is_imported(tmp_path, bundle, message):
    path = _write(tmp_path, bundle)
    with pytest.raises(CommandError) as error:
        _run(path)
    assert message in str(error.value)
    assert "Nothing was imported" in str(error.value) or "not valid JSON" in str(error.value)
    assert SandboxResource.objects.count() == 0


@pytest.mark.django_db
def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        _run(tmp_path / "absent.json")
