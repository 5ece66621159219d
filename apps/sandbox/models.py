"""The sandbox EHR's resource store.

One row per FHIR resource (current version only), holding the JSON text as served so search pages are emitted
without re-parsing, plus the few columns searches filter and sort on. Token and string search parameters live in
`SandboxToken` rows (one per indexed value) so a resource with several codings (ICD-10-CM and SNOMED CT) or
names (繁體中文 and English) matches on any of them.

Nothing here is tenant-owned: the sandbox plays the hospital's EHR, which knows nothing of CareLaunch tenants.
"""

from __future__ import annotations

import uuid

from django.db import models


class SandboxResource(models.Model):
    resource_type = models.CharField(max_length=64)
    logical_id = models.CharField(max_length=64)
    version_id = models.PositiveIntegerField(default=1)
    last_updated = models.DateTimeField()
    # Logical id of the Patient whose compartment holds this resource ("" for Practitioner, Questionnaire, ...).
    # A Patient row carries its own id, so "the compartment of p-001" is one equality filter for every type.
    patient_id = models.CharField(max_length=64, blank=True, default="")
    # The type's main date search parameter (Observation.effective, Encounter.period.start, Patient.birthDate ...).
    effective = models.DateTimeField(null=True, blank=True)
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["resource_type", "logical_id"], name="sandbox_resource_type_id_uniq"),
        ]
        indexes = [
            # Observation?patient=X (default order) and Observation?patient=X&_sort=date pages.
            models.Index(fields=["resource_type", "patient_id", "id"], name="sandbox_res_type_pat_id"),
            models.Index(fields=["resource_type", "patient_id", "effective", "id"], name="sandbox_res_type_pat_eff"),
            # _lastUpdated searches and Bulk `_since`.
            models.Index(fields=["resource_type", "last_updated"], name="sandbox_res_type_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.resource_type}/{self.logical_id}"


class SandboxToken(models.Model):
    """One indexed token or string value of a resource: (param, system, code).

    String parameters (`name`, `family`, `given`) store the lower-cased value in `code` with an empty system.
    """

    resource = models.ForeignKey(SandboxResource, on_delete=models.CASCADE, related_name="tokens")
    param = models.CharField(max_length=40)
    system = models.CharField(max_length=255, blank=True, default="")
    code = models.CharField(max_length=255)

    class Meta:
        indexes = [
            models.Index(fields=["param", "code", "system"], name="sandbox_token_lookup"),
            # The per-row probe of an EXISTS(token) filter: resource first, so paging a patient's rows stays cheap.
            models.Index(fields=["resource", "param", "code"], name="sandbox_token_res_param_code"),
        ]

    def __str__(self) -> str:
        return f"{self.param}={self.system}|{self.code}"


class BulkExportJob(models.Model):
    """A Bulk Data Access 2.0 export request and its NDJSON output (files under settings.SANDBOX_BULK_DIR)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client_id = models.CharField(max_length=255)
    # "patient" (Patient/$export) or "group" (Group/[id]/$export).
    level = models.CharField(max_length=16)
    group_id = models.CharField(max_length=64, blank=True, default="")
    types = models.JSONField(default=list)
    # Per-type granular constraints from the token's scopes, frozen at kick-off: {type: [[param, value], ...] | null}.
    constraints = models.JSONField(default=dict)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.CharField(max_length=100, blank=True, default="")
    transaction_time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # [{"type": "Observation", "file": "Observation.ndjson", "count": 123}, ...]
    output = models.JSONField(default=list)
    error = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"BulkExportJob {self.id} ({self.status})"
