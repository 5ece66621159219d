from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.core.models import Tenant


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff may look, search and filter, never add, change or delete (audit, secrets-bearing rows)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_en", "name_zh_hant", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name_en", "name_zh_hant")
    # Status changes go through the audited actions below, never through the edit form.
    readonly_fields = ("status", "created_at", "updated_at")
    actions = ("approve_tenants", "suspend_tenants")

    @admin.action(description=_("Approve selected tenants (activate)"), permissions=["change"])
    def approve_tenants(self, request, queryset):
        from apps.tenants import services

        done = 0
        for tenant in queryset:
            if tenant.status == Tenant.Status.ACTIVE:
                continue
            try:
                services.activate_tenant(tenant=tenant, actor=request.user)
            except ValidationError as exc:
                self.message_user(request, f"{tenant.slug}: {' '.join(exc.messages)}", level=messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext("%(count)d tenant approved.", "%(count)d tenants approved.", done) % {"count": done},
                level=messages.SUCCESS,
            )

    @admin.action(description=_("Suspend selected tenants"), permissions=["change"])
    def suspend_tenants(self, request, queryset):
        from apps.tenants import services

        done = 0
        for tenant in queryset:
            if tenant.status != Tenant.Status.SUSPENDED:
                services.suspend_tenant(tenant=tenant, actor=request.user)
                done += 1
        self.message_user(
            request,
            ngettext("%(count)d tenant suspended.", "%(count)d tenants suspended.", done) % {"count": done},
            level=messages.SUCCESS,
        )
