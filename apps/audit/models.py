from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised when code tries to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")


class AuditEvent(models.Model):
    """One thing that happened: who did what to which target (and patient), with what outcome.

    Append-only: the ORM refuses updates and deletes, and database triggers refuse them too (PostgreSQL
    and SQLite), so neither a bug nor raw SQL can rewrite history. No foreign key to users, so deleting
    a user never needs to touch this table. Never put tokens or secrets in `detail`.
    """

    occurred_at = models.DateTimeField(_("when (UTC)"), default=timezone.now, editable=False)
    tenant = models.ForeignKey(
        "core.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=255, blank=True)
    patient = models.CharField(max_length=255, blank=True, help_text=_("FHIR reference of the patient concerned"))
    outcome = models.CharField(max_length=32)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-occurred_at"], name="audit_tenant_time"),
            models.Index(fields=["tenant", "patient", "-occurred_at"], name="audit_tenant_patient_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit events cannot be deleted")
