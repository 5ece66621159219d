"""Bulk Data Access 2.0 export from the sandbox over real HTTP: kick-off, poll, download, cancel."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.sandbox.bulk import services as bulk
from apps.sandbox.models import BulkExportJob, SandboxResource
from apps.sandbox.tasks import run_bulk_export
from tests.sandbox.conftest import HEAVY

ASYNC = {"Prefer": "respond-async"}
SYSTEM = "system/*.read"


@pytest.fixture
def backend(fhir, bulk_env):
    return fhir.token(SYSTEM, is_system=True, client_id="backend-app")


def _kickoff(fhir, token: str, path: str = "Patient/$export", **params) -> str:
    response = fhir.get(path, token, headers=ASYNC, params=params)
    assert response.status_code == 202, response.text
    return response.headers["Content-Location"]


def _manifest(fhir, token: str, status_url: str) -> dict:
    response = fhir.get(status_url, token)
    assert response.status_code == 200, response.text
    return response.json()


def _download(fhir, token: str, url: str) -> list[dict]:
    response = fhir.get(url, token, headers={"Accept": "application/fhir+ndjson"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_patient_export_round_trip(fhir, backend):
    status_url = _kickoff(fhir, backend)
    assert status_url.startswith(fhir.base + "bulk-status/")
    manifest = _manifest(fhir, backend, status_url)
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("Patient/$export")
    assert manifest["transactionTime"] and manifest["error"] == []
    by_type = {item["type"]: item for item in manifest["output"]}
    assert {"Patient", "Observation", "Condition", "Encounter"} <= set(by_type)
    assert "Practitioner" not in by_type and "Questionnaire" not in by_type
    for resource_type, item in by_type.items():
        assert item["url"].startswith(fhir.base)
        lines = _download(fhir, backend, item["url"])
        assert len(lines) == item["count"]
        assert {line["resourceType"] for line in lines} == {resource_type}
        stored = SandboxResource.objects.filter(resource_type=resource_type).exclude(patient_id="")
        assert item["count"] == stored.count()
    observations = _download(fhir, backend, by_type["Observation"]["url"])
    assert len({o["id"] for o in observations}) == len(observations)


def test_kickoff_requires_prefer_respond_async(fhir, backend):
    response = fhir.get("Patient/$export", backend)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_kickoff_requires_a_backend_services_grant(fhir, bulk_env):
    user_token = fhir.token("user/*.read")
    assert fhir.get("Patient/$export", user_token, headers=ASYNC).status_code == 403
    assert fhir.get("Patient/$export", headers=ASYNC).status_code == 401


def test_type_parameter_and_scope_limits(fhir, backend):
    manifest = _manifest(fhir, backend, _kickoff(fhir, backend, _type="Patient,Condition"))
    assert [item["type"] for item in manifest["output"]] == ["Patient", "Condition"]
    assert fhir.get("Patient/$export", backend, headers=ASYNC, params={"_type": "Spaceship"}).status_code == 400
    narrow = fhir.token("system/Patient.rs system/Observation.rs", is_system=True, client_id="backend-app")
    manifest = _manifest(fhir, narrow, _kickoff(fhir, narrow))
    assert {item["type"] for item in manifest["output"]} == {"Patient", "Observation"}
    assert fhir.get("Patient/$export", narrow, headers=ASYNC, params={"_type": "Condition"}).status_code == 403


def test_since_exports_only_newer_resources(fhir, backend):
    cutoff = timezone.now() - timedelta(seconds=1)
    new_body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p-001"},
        "valueQuantity": {"value": 80, "unit": "/min"},
    }
    created = fhir.post("Observation", new_body, fhir.token("user/Observation.cruds")).json()
    since = cutoff.isoformat().replace("+00:00", "Z")
    manifest = _manifest(fhir, backend, _kickoff(fhir, backend, _since=since))
    assert [item["type"] for item in manifest["output"]] == ["Observation"]
    assert [line["id"] for line in _download(fhir, backend, manifest["output"][0]["url"])] == [created["id"]]
    assert fhir.get("Patient/$export", backend, headers=ASYNC, params={"_since": "last tuesday"}).status_code == 400


def test_group_export_contains_only_members(fhir, backend):
    manifest = _manifest(fhir, backend, _kickoff(fhir, backend, "Group/grp-cardiometabolic/$export"))
    patients = _download(fhir, backend, next(i["url"] for i in manifest["output"] if i["type"] == "Patient"))
    assert sorted(p["id"] for p in patients) == ["p-001", "p-002", "p-003"]
    observations = _download(fhir, backend, next(i["url"] for i in manifest["output"] if i["type"] == "Observation"))
    assert {o["subject"]["reference"] for o in observations} <= {"Patient/p-001", "Patient/p-002", "Patient/p-003"}
    assert HEAVY not in {o["subject"]["reference"].split("/")[1] for o in observations}
    assert fhir.get("Group/grp-nope/$export", backend, headers=ASYNC).status_code == 404


def test_files_and_status_require_the_same_clients_token(fhir, backend):
    status_url = _kickoff(fhir, backend)
    url = _manifest(fhir, backend, status_url)["output"][0]["url"]
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(status_url, timeout=10).status_code == 401
    intruder = fhir.token(SYSTEM, is_system=True, client_id="other-backend")
    ndjson = {"Accept": "application/fhir+ndjson"}
    assert fhir.get(url, intruder, headers=ndjson).status_code == 404
    assert fhir.get(status_url, intruder).status_code == 404
    assert fhir.get(url.rsplit("/", 1)[0] + "/..%2F..%2Fsecret", backend, headers=ndjson).status_code == 404
    assert fhir.get(url, backend, headers={"Accept": "text/html"}).status_code == 406


def test_delete_cancels_and_removes_files(fhir, backend, bulk_env):
    status_url = _kickoff(fhir, backend)
    _manifest(fhir, backend, status_url)
    job_id = status_url.rsplit("/", 1)[1]
    assert any((bulk_env / job_id).iterdir())
    assert fhir.delete(status_url, backend).status_code == 202
    assert not (bulk_env / job_id).exists()
    assert fhir.get(status_url, backend).status_code == 404
    assert BulkExportJob.objects.get(pk=job_id).status == BulkExportJob.Status.CANCELLED


def test_in_progress_status_reports_progress_and_retry_after(fhir, backend):
    job = BulkExportJob.objects.create(
        client_id="backend-app",
        level="patient",
        types=["Patient"],
        request_url="x",
        transaction_time=timezone.now(),
        status=BulkExportJob.Status.RUNNING,
        progress="exporting Patient (1/1)",
    )
    response = fhir.get(f"bulk-status/{job.pk}", backend)
    assert response.status_code == 202
    assert response.headers["X-Progress"] == "exporting Patient (1/1)"
    assert int(response.headers["Retry-After"]) > 0
    # A cancelled job stops the worker: the run sees the status and leaves no files.
    assert fhir.delete(f"{fhir.base}bulk-status/{job.pk}", backend).status_code == 202
    run_bulk_export(str(job.pk))
    assert not bulk.job_dir(job.pk).exists()


def test_export_run_is_idempotent(fhir, backend, bulk_env):
    status_url = _kickoff(fhir, backend, _type="Observation")
    job = BulkExportJob.objects.get(pk=status_url.rsplit("/", 1)[1])
    first = (bulk.job_dir(job.pk) / "Observation.ndjson").read_bytes()
    # A redelivered task for a finished job changes nothing; a re-run of a running job rewrites the same file.
    run_bulk_export(str(job.pk))
    BulkExportJob.objects.filter(pk=job.pk).update(status=BulkExportJob.Status.RUNNING)
    run_bulk_export(str(job.pk))
    assert (bulk.job_dir(job.pk) / "Observation.ndjson").read_bytes() == first
    assert BulkExportJob.objects.get(pk=job.pk).status == BulkExportJob.Status.DONE
    assert [p.name for p in bulk.job_dir(job.pk).iterdir()] == ["Observation.ndjson"]
