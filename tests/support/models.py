from django.db import models

from apps.core.models import TenantOwnedModel


class Note(TenantOwnedModel):
    body = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["tenant", "body"], name="note_tenant_body")]
