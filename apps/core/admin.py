from django.contrib import admin

from apps.core.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("slug", "name_en", "name_zh_hant", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name_en", "name_zh_hant")
