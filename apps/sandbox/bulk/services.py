"""Bulk Data Access 2.0 export for the sandbox EHR: kick-off, the export run, cancellation.

Files are written streaming: rows are read in keyset-paginated chunks by primary key (server-side cursors are
off in our PostgreSQL settings) and each stored JSON text is written as one NDJSON line, so memory stays flat
whatever the export size. The run is idempotent: it may be executed again for the same job (a redelivered task)
and rewrites the same files.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.sandbox.fhir.search import access_q
from apps.sandbox.models import BulkExportJob, SandboxResource
from apps.sandbox.scopes import COMPARTMENT_TYPES, Clause, Decision

CHUNK_SIZE = 1000
# Export order: the Patient first, then the rest alphabetically (stable manifests).
EXPORT_TYPES = ("Patient", *sorted(COMPARTMENT_TYPES - {"Patient"}))
Status = BulkExportJob.Status


@dataclass(frozen=True)
class ExportRequest:
    client_id: str
    level: str  # "patient" | "group"
    group_id: str
    types: list[str]
    constraints: dict[str, list | None]
    since: datetime | None
    request_url: str


def job_dir(job_id: uuid.UUID | str) -> Path:
    return Path(settings.SANDBOX_BULK_DIR) / str(uuid.UUID(str(job_id)))


def start_export(*, request: ExportRequest) -> BulkExportJob:
    """Create the job and enqueue its run once the row is committed."""
    from apps.sandbox.tasks import run_bulk_export

    job = BulkExportJob.objects.create(
        client_id=request.client_id,
        level=request.level,
        group_id=request.group_id,
        types=request.types,
        constraints=request.constraints,
        since=request.since,
        request_url=request.request_url,
        transaction_time=timezone.now(),
        progress="queued",
    )
    job_id = str(job.id)
    transaction.on_commit(lambda: run_bulk_export.delay(job_id))
    return job


def cancel_export(*, job: BulkExportJob) -> bool:
    """DELETE on the status URL: mark cancelled (compare-and-swap) and remove the files."""
    cancelled = (
        BulkExportJob.objects.filter(pk=job.pk)
        .exclude(status=Status.CANCELLED)
        .update(status=Status.CANCELLED, progress="cancelled", completed_at=timezone.now())
        == 1
    )
    shutil.rmtree(job_dir(job.pk), ignore_errors=True)
    return cancelled


def _is_cancelled(job_id: uuid.UUID) -> bool:
    return BulkExportJob.objects.filter(pk=job_id, status=Status.CANCELLED).exists()


def _type_filter(job: BulkExportJob, resource_type: str, members: list[str] | None) -> Q:
    q = Q(resource_type=resource_type, last_updated__lte=job.transaction_time)
    if job.level == "group":
        q &= Q(patient_id__in=members or [])
    else:
        q &= ~Q(patient_id="")
    if job.since is not None:
        q &= Q(last_updated__gt=job.since)
    constraints = job.constraints.get(resource_type)
    if constraints is not None:
        decision = Decision(tuple(Clause(None, tuple(tuple(pair) for pair in clause)) for clause in constraints))
        limit = access_q(resource_type, decision)
        if limit is not None:
            q &= limit
    return q


def run_export(*, job_id: str) -> None:
    """Write one NDJSON file per type for the job. Safe to run twice; stops early when the job is cancelled."""
    from apps.sandbox.selectors import group_members

    claimed = BulkExportJob.objects.filter(pk=job_id, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.RUNNING, progress="starting"
    )
    if not claimed:
        return  # done, failed or cancelled already
    job = BulkExportJob.objects.get(pk=job_id)
    members = group_members(job.group_id) if job.level == "group" else None
    directory = job_dir(job.pk)
    directory.mkdir(parents=True, exist_ok=True)
    output = []
    try:
        for position, resource_type in enumerate(job.types, start=1):
            BulkExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
                progress=f"exporting {resource_type} ({position}/{len(job.types)})"
            )
            count = _write_type(job, resource_type, members, directory)
            if count is None:  # cancelled mid-way
                shutil.rmtree(directory, ignore_errors=True)
                return
            if count:
                output.append({"type": resource_type, "file": f"{resource_type}.ndjson", "count": count})
    except Exception as error:
        BulkExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            status=Status.FAILED, progress="failed", error=type(error).__name__, completed_at=timezone.now()
        )
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finished = BulkExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.DONE, progress="complete", output=output, completed_at=timezone.now()
    )
    if not finished:  # cancelled between the last chunk and here
        shutil.rmtree(directory, ignore_errors=True)


def _write_type(job: BulkExportJob, resource_type: str, members: list[str] | None, directory: Path) -> int | None:
    final = directory / f"{resource_type}.ndjson"
    partial = directory / f"{resource_type}.ndjson.{uuid.uuid4().hex}.part"
    base = SandboxResource.objects.filter(_type_filter(job, resource_type, members)).order_by("pk")
    count = 0
    last_pk = 0
    with partial.open("w", encoding="utf-8") as handle:
        while True:
            chunk = list(base.filter(pk__gt=last_pk).values_list("pk", "text")[:CHUNK_SIZE])
            if not chunk:
                break
            handle.writelines(f"{text}\n" for _, text in chunk)
            count += len(chunk)
            last_pk = chunk[-1][0]
            if _is_cancelled(job.pk):
                partial.unlink(missing_ok=True)
                return None
    if count:
        partial.replace(final)
    else:
        # Bulk Data 2.0: types with no resources are left out of the manifest.
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
    return count
