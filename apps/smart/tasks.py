"""Beat job and tenant tasks of the SMART client: refresh ahead of expiry, revocation on suspension."""

from __future__ import annotations

from celery import shared_task

from apps.core.tasks import TenantTask


@shared_task(name="apps.smart.tasks.refresh_expiring_grants")
def refresh_expiring_grants() -> int:
    """Beat (SMART checklist R1): one tenant task per grant whose token expires within the look-ahead."""
    from apps.smart import services

    due = services.grants_due_for_refresh()
    for tenant_id, grant_id, version in due:
        refresh_grant.delay(tenant_id, grant_id, version)
    services.purge_expired_launch_states()
    return len(due)


@shared_task(base=TenantTask, name="apps.smart.tasks.refresh_grant")
def refresh_grant(tenant_id: int, grant_id: int, seen_version: int) -> int:
    """Idempotent: a grant refreshed since the scan (version moved on) is left alone."""
    from apps.smart import services

    try:
        grant = services.refresh_grant(
            tenant_id=tenant_id, grant_id=grant_id, seen_version=seen_version, reason="ahead_of_expiry"
        )
    except (services.GrantEnded, services.RefreshFailed):
        return 0  # recorded in the audit trail; the next scan tries a transient failure again
    return grant.token_version


@shared_task(base=TenantTask, name="apps.smart.tasks.revoke_tenant_grants")
def revoke_tenant_grants(tenant_id: int) -> int:
    from apps.smart import services

    return services.revoke_tenant_grants(tenant_id=tenant_id)
