"""The audit trail's one write: `record(...)`. Called explicitly by services (DESIGN convention 6)."""

from __future__ import annotations

import logging
import re
from typing import Any

from apps.audit.models import AuditEvent
from apps.core.logging import redact
from apps.core.request_context import client_ip_var, request_id_var
from apps.core.tenancy import all_tenants, current_tenant_id, tenant_scope

logger = logging.getLogger("carelaunch.audit")

_SECRET_KEY_NAMES = re.compile(r"(?i)(token|secret|password|assertion|verifier|private|^code$|^d$)")


def _scrub(value: Any) -> Any:
    """Drop secret-looking keys and redact secret-looking strings, recursively."""
    if isinstance(value, dict):
        return {
            str(key): ("[redacted]" if _SECRET_KEY_NAMES.search(str(key)) else _scrub(item))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


def _tenant_id(tenant: Any) -> int | None:
    if tenant is None:
        return current_tenant_id()
    return int(getattr(tenant, "pk", tenant))


def record(
    *,
    action: str,
    outcome: str = "success",
    actor: Any = None,
    tenant: Any = None,
    target: str = "",
    patient: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. The tenant defaults to the active scope; request id and address to the request's."""
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    tenant_id = _tenant_id(tenant)
    # Services record events about tenants other than the one in scope (staff approvals, cross-tenant
    # jobs) and events about no tenant at all; the insert's RETURNING must be able to see its own row
    # under row-level security, so it runs in the scope of the event's tenant.
    with tenant_scope(tenant_id) if tenant_id is not None else all_tenants():
        event = _insert(is_user, actor, tenant_id, action, target, patient, outcome, detail)
    logger.info("audit %s %s tenant=%s target=%s", action, outcome, event.tenant_id, event.target)
    return event


def _insert(is_user, actor, tenant_id, action, target, patient, outcome, detail) -> AuditEvent:
    return AuditEvent.objects.create(
        tenant_id=tenant_id,
        actor_id=actor.pk if is_user else None,
        actor_label=(actor.get_username() if is_user else str(actor or ""))[:255],
        action=action,
        target=target[:255],
        patient=patient[:255],
        outcome=outcome,
        request_id=request_id_var.get(),
        client_ip=client_ip_var.get() or None,
        detail=_scrub(detail or {}),
    )
