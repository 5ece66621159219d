"""Write-back retries: thin tasks that take ids (tenant first) and call one service."""

from __future__ import annotations

from celery import shared_task

from apps.core.tasks import TenantTask
from apps.engagement import services


@shared_task(base=TenantTask, name="apps.engagement.tasks.deliver_response", ignore_result=True, acks_late=True)
def deliver_response(tenant_id: int, stored_id: int) -> str:
    return services.deliver(tenant_id=tenant_id, stored_id=stored_id)


@shared_task(name="apps.engagement.tasks.retry_due_responses", ignore_result=True)
def retry_due_responses() -> int:
    """Beat sweep: any response whose retry is due (a lost task, a restarted worker) is sent again."""
    due = services.due_responses()
    for tenant_id, stored_id in due:
        deliver_response.delay(tenant_id, stored_id)
    return len(due)
