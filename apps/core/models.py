from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class Tenant(models.Model):
    """A hospital (or hospital group) that plugs its EHR into CareLaunch."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh_hant = models.CharField(_("name (繁體中文)"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return f"{self.name_en} ({self.slug})"

    @property
    def display_name(self) -> str:
        """The name in the active language."""
        language = (get_language() or "en").lower()
        return self.name_zh_hant if language.startswith("zh") and self.name_zh_hant else self.name_en

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class TenantOwnedModel(models.Model):
    """Base for every row that belongs to one tenant.

    `objects` refuses to query outside a tenant scope (apps.core.tenancy.tenant_scope); on PostgreSQL a
    row-level-security policy (apps.core.rls.EnableRowLevelSecurity in the model's migration) is the
    backstop. Subclasses lead their indexes and unique constraints with `tenant`.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+", db_index=False)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True
