from django.contrib import admin

from apps.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: staff can search the trail but never change it."""

    list_display = ("occurred_at", "tenant", "actor_label", "action", "target", "patient", "outcome", "client_ip")
    list_filter = ("action", "outcome", "tenant")
    search_fields = ("action", "target", "patient", "actor_label", "request_id")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
