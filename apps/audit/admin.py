from django.contrib import admin

from apps.audit.models import AuditEvent
from apps.core.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: staff can search the trail but never change it."""

    list_display = ("occurred_at", "tenant", "actor_label", "action", "target", "patient", "outcome", "client_ip")
    list_filter = ("action", "outcome", "tenant")
    search_fields = ("action", "target", "patient", "actor_label", "request_id")
    date_hierarchy = "occurred_at"
