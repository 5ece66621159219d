"""Bulk Data Access 2.0 endpoints: `Patient/$export`, `Group/[id]/$export`, status polling, files, cancel.

Only backend-services grants (client_credentials, `system/` scopes) may export; the status URL and the files
answer only to the client that started the export, with a valid token (`requiresAccessToken: true`).
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse

from apps.sandbox.bulk import services as bulk
from apps.sandbox.fhir.http import FhirError, fhir_view, json_response, require_grant
from apps.sandbox.fhir.indexing import format_instant, parse_date_range
from apps.sandbox.grants import Grant
from apps.sandbox.models import BulkExportJob
from apps.sandbox.scopes import decide
from apps.sandbox.selectors import group_members

OUTPUT_FORMATS = {"application/fhir+ndjson", "application/ndjson", "ndjson"}
SUPPORTED_PARAMS = {"_outputFormat", "_type", "_since"}
RETRY_AFTER_SECONDS = 2
Status = BulkExportJob.Status


def _accepts_ndjson(request: HttpRequest) -> bool:
    header = request.META.get("HTTP_ACCEPT", "").lower()
    if not header:
        return True
    return any(
        media.split(";")[0].strip() in {"application/fhir+ndjson", "application/ndjson", "*/*", "application/*"}
        for media in header.split(",")
    )


def _backend_grant(request: HttpRequest) -> Grant:
    grant = require_grant(request)
    if not grant.is_system:
        raise FhirError(403, "Bulk export needs a backend services (system/) token", code="forbidden")
    return grant


@fhir_view("GET")
def patient_export(request: HttpRequest) -> HttpResponse:
    return _kickoff(request, level="patient", group_id="")


@fhir_view("GET")
def group_export(request: HttpRequest, group_id: str) -> HttpResponse:
    return _kickoff(request, level="group", group_id=group_id)


def _kickoff(request: HttpRequest, *, level: str, group_id: str) -> HttpResponse:
    """Bulk Data 2.0 §export kick-off request."""
    grant = _backend_grant(request)
    prefer = request.META.get("HTTP_PREFER", "").replace(" ", "").lower()
    if "respond-async" not in prefer.split(","):
        raise FhirError(400, "Bulk export requires the header Prefer: respond-async", code="invalid")
    strict = "handling=strict" in prefer.split(",")
    for name in request.GET:
        if name not in SUPPORTED_PARAMS and (strict or name in {"_typeFilter", "patient", "_elements"}):
            raise FhirError(400, f"Parameter {name!r} is not supported by this server", code="not-supported")
    output_format = request.GET.get("_outputFormat")
    if output_format and output_format not in OUTPUT_FORMATS:
        raise FhirError(400, f"_outputFormat {output_format!r} is not supported", code="not-supported")
    requested = [t.strip() for value in request.GET.getlist("_type") for t in value.split(",") if t.strip()]
    unknown = [t for t in requested if t not in bulk.EXPORT_TYPES]
    if unknown:
        raise FhirError(400, f"_type includes types this export cannot produce: {', '.join(unknown)}", code="invalid")
    since = None
    if request.GET.get("_since"):
        try:
            since = parse_date_range(request.GET["_since"])[0]
        except ValueError:
            raise FhirError(400, "_since must be a FHIR instant", code="invalid") from None
    if level == "group" and group_members(group_id) is None:
        raise FhirError(404, f"Group/{group_id} is not known", code="not-found")

    constraints: dict[str, list | None] = {}
    types = []
    for resource_type in requested or bulk.EXPORT_TYPES:
        decision = decide(
            scopes=grant.scopes, resource_type=resource_type, interaction="read", patient_id=None, is_system=True
        )
        if not decision.allowed:
            if requested:
                raise FhirError(403, f"The granted scopes do not allow reading {resource_type}", code="forbidden")
            continue
        types.append(resource_type)
        clauses = [[list(pair) for pair in clause.constraints] for clause in decision.clauses]
        constraints[resource_type] = None if decision.unrestricted else clauses
    if not types:
        raise FhirError(403, "The granted scopes allow no resource type to be exported", code="forbidden")

    job = bulk.start_export(
        request=bulk.ExportRequest(
            client_id=grant.client_id,
            level=level,
            group_id=group_id,
            types=list(dict.fromkeys(types)),
            constraints=constraints,
            since=since,
            request_url=request.build_absolute_uri(),
        )
    )
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(reverse("sandbox_fhir:bulk-status", args=[job.pk]))
    return response


def _job_for(request: HttpRequest, job_id) -> tuple[BulkExportJob, Grant]:
    grant = _backend_grant(request)
    job = BulkExportJob.objects.filter(pk=job_id, client_id=grant.client_id).exclude(status=Status.CANCELLED).first()
    if job is None:
        raise FhirError(404, "No such export", code="not-found")
    return job, grant


@fhir_view("GET", "DELETE")
def export_status(request: HttpRequest, job_id) -> HttpResponse:
    """Bulk Data 2.0 §status request (GET) and §delete request (DELETE)."""
    job, _ = _job_for(request, job_id)
    if request.method == "DELETE":
        bulk.cancel_export(job=job)
        return HttpResponse(status=202)
    if job.status in (Status.QUEUED, Status.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = job.progress or job.status
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if job.status == Status.FAILED:
        raise FhirError(500, f"The export failed ({job.error or 'error'})", code="exception")
    manifest = {
        "transactionTime": format_instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": item["type"],
                "url": request.build_absolute_uri(reverse("sandbox_fhir:bulk-file", args=[job.pk, item["file"]])),
                "count": item["count"],
            }
            for item in job.output
        ],
        "error": [],
    }
    return json_response(manifest, content_type="application/json")


@fhir_view("GET", accept=_accepts_ndjson)
def export_file(request: HttpRequest, job_id, name: str) -> HttpResponse:
    job, _ = _job_for(request, job_id)
    if job.status != Status.DONE or name not in {item["file"] for item in job.output}:
        raise FhirError(404, "No such file", code="not-found")
    path = bulk.job_dir(job.pk) / name
    if not path.is_file():
        raise FhirError(404, "No such file", code="not-found")
    # FileResponse streams the file in blocks: memory does not grow with the file size.
    return FileResponse(path.open("rb"), content_type="application/fhir+ndjson")
