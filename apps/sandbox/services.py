"""Writes to the sandbox EHR's resource store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.sandbox.fhir.indexing import format_instant, index_resource
from apps.sandbox.models import SandboxResource, SandboxToken

BATCH_SIZE = 1000


def dump(resource: dict[str, Any]) -> str:
    return json.dumps(resource, ensure_ascii=False, separators=(",", ":"))


def _stamp(resource: dict[str, Any], *, version: int, last_updated: datetime) -> dict[str, Any]:
    """The resource with server-owned meta (versionId, lastUpdated), keys ordered resourceType, id, meta, rest."""
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    meta = {**meta, "versionId": str(version), "lastUpdated": format_instant(last_updated)}
    rest = {k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")}
    return {"resourceType": resource["resourceType"], "id": resource["id"], "meta": meta, **rest}


def _row(resource: dict[str, Any], *, version: int, last_updated: datetime) -> tuple[SandboxResource, list]:
    resource = _stamp(resource, version=version, last_updated=last_updated)
    index = index_resource(resource)
    row = SandboxResource(
        resource_type=resource["resourceType"],
        logical_id=resource["id"],
        version_id=version,
        last_updated=last_updated,
        patient_id=index.patient_id,
        effective=index.effective,
        text=dump(resource),
    )
    return row, index.tokens


def bulk_insert(resources: Iterable[tuple[dict[str, Any], datetime]], *, batch_size: int = BATCH_SIZE) -> int:
    """Insert new resources (version 1) in batches: [(resource, last_updated), ...]. Returns the count.

    Ids must be new; callers delete first when they replace (seed_sandbox) or check (import_fhir_bundle).
    """
    count = 0
    batch: list[tuple[SandboxResource, list]] = []

    def flush() -> None:
        rows = SandboxResource.objects.bulk_create([row for row, _ in batch], batch_size=batch_size)
        tokens = [
            SandboxToken(resource_id=row.pk, param=param, system=system, code=code)
            for row, (_, row_tokens) in zip(rows, batch, strict=True)
            for param, system, code in row_tokens
        ]
        SandboxToken.objects.bulk_create(tokens, batch_size=batch_size * 4)
        batch.clear()

    for resource, last_updated in resources:
        batch.append(_row(resource, version=1, last_updated=last_updated))
        count += 1
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return count


def analyze() -> None:
    """After a bulk load on PostgreSQL: fresh planner statistics (good plans from the first search) and a
    visibility map (index-only scans for deep search pages). Must run outside a transaction."""
    from django.db import connection

    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) sandbox_sandboxresource, sandbox_sandboxtoken")


def delete_all() -> None:
    """Remove every sandbox resource in two statements (no per-row cascade collection)."""
    SandboxToken.objects.all()._raw_delete(SandboxToken.objects.db)
    SandboxResource.objects.all()._raw_delete(SandboxResource.objects.db)


def create_resource(*, resource: dict[str, Any]) -> SandboxResource:
    """FHIR R4 create: the server assigns the id, versionId "1" and lastUpdated. The body must be validated."""
    resource = {**resource, "id": str(uuid.uuid4())}
    now = timezone.now()
    row, tokens = _row(resource, version=1, last_updated=now)
    with transaction.atomic():
        row.save()
        SandboxToken.objects.bulk_create(
            [SandboxToken(resource=row, param=param, system=system, code=code) for param, system, code in tokens]
        )
    return row


def upsert_resource(*, resource: dict[str, Any], last_updated: datetime | None = None) -> tuple[SandboxResource, bool]:
    """Create or replace (new version) the resource with this type and id. Returns (row, created)."""
    last_updated = last_updated or timezone.now()
    existing = (
        SandboxResource.objects.select_for_update()
        .filter(resource_type=resource["resourceType"], logical_id=resource["id"])
        .first()
    )
    version = existing.version_id + 1 if existing else 1
    row, tokens = _row(resource, version=version, last_updated=last_updated)
    if existing:
        row.pk = existing.pk
        row.save(force_update=True)
        SandboxToken.objects.filter(resource_id=row.pk).delete()
    else:
        row.save()
    SandboxToken.objects.bulk_create(
        [SandboxToken(resource_id=row.pk, param=param, system=system, code=code) for param, system, code in tokens]
    )
    return row, existing is None
