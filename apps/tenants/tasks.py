"""Beat jobs: daily discovery refresh (SMART checklist C4) and key retirement after the rotation overlap."""

from __future__ import annotations

from celery import shared_task

from apps.core.models import Tenant
from apps.core.tasks import TenantTask
from apps.core.tenancy import all_tenants


@shared_task(name="apps.tenants.tasks.refresh_all_discovery")
def refresh_all_discovery() -> int:
    """Cross-tenant scan (explicit), then one tenant task per connection of a non-suspended tenant."""
    from apps.tenants.models import EhrConnection

    with all_tenants():
        pairs = list(
            EhrConnection.objects.exclude(tenant__status=Tenant.Status.SUSPENDED).values_list("tenant_id", "pk")
        )
    for tenant_id, connection_id in pairs:
        refresh_connection_discovery.delay(tenant_id, connection_id)
    return len(pairs)


@shared_task(base=TenantTask, name="apps.tenants.tasks.refresh_connection_discovery")
def refresh_connection_discovery(tenant_id: int, connection_id: int) -> bool:
    from apps.tenants import services
    from apps.tenants.models import EhrConnection

    connection = EhrConnection.objects.filter(tenant_id=tenant_id, pk=connection_id).first()
    if connection is None:  # deleted since the scan: nothing to do
        return False
    return services.refresh_discovery(connection=connection)


@shared_task(name="apps.tenants.tasks.retire_expired_keys_all")
def retire_expired_keys_all() -> int:
    with all_tenants():
        tenant_ids = list(Tenant.objects.values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        retire_expired_keys.delay(tenant_id)
    return len(tenant_ids)


@shared_task(base=TenantTask, name="apps.tenants.tasks.retire_expired_keys")
def retire_expired_keys(tenant_id: int) -> int:
    from apps.tenants import services

    return services.retire_expired_keys(tenant=Tenant.objects.get(pk=tenant_id))
