"""The tenant scope: which hospital the current request or task acts for.

Built on django-scopes: `TenantOwnedModel.objects` refuses to query unless a scope is active, and on
PostgreSQL the same scope drives the row-level-security setting (see apps.core.rls).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django_scopes import get_scope, scope, scopes_disabled


@contextmanager
def tenant_scope(tenant: Any) -> Iterator[None]:
    """Act for one tenant (a Tenant or its primary key) inside the block."""
    tenant_id = getattr(tenant, "pk", tenant)
    if tenant_id is None:
        raise ValueError("tenant_scope needs a saved tenant")
    with scope(tenant=int(tenant_id)):
        yield


@contextmanager
def all_tenants() -> Iterator[None]:
    """Explicit cross-tenant access (staff admin, beat jobs that scan every tenant). Keep these few."""
    with scopes_disabled():
        yield


def current_tenant_id() -> int | None:
    """The tenant id of the active scope, or None when no single tenant is in scope."""
    state = get_scope()
    if not state.get("_enabled"):
        return None
    tenant = state.get("tenant")
    return None if tenant is None else int(getattr(tenant, "pk", tenant))


def rls_setting() -> tuple[str, str]:
    """(app.tenant_id, app.all_tenants) for the active scope: what PostgreSQL's policies should see."""
    state = get_scope()
    if not state:
        return "", ""
    if not state.get("_enabled"):
        return "", "on"
    tenant_id = current_tenant_id()
    return ("" if tenant_id is None else str(tenant_id)), ""
