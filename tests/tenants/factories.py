from __future__ import annotations

from django.contrib.auth import get_user_model

from apps.core.tenancy import tenant_scope
from apps.tenants.models import EhrConnection, Membership


def make_user(username: str, password: str = "correct-horse-battery", **extra):
    return get_user_model().objects.create_user(
        username=username, password=password, email=extra.pop("email", f"{username}@example.org"), **extra
    )


def make_member(tenant, username: str, role: str = "owner"):
    user = make_user(username)
    with tenant_scope(tenant):
        Membership.objects.create(tenant=tenant, user=user, role=role)
    return user


def make_connection(tenant, **fields) -> EhrConnection:
    values = {
        "label": "Main EHR",
        "fhir_base_url": f"https://ehr-{tenant.slug}.example.org/fhir",
        "client_id": "carelaunch",
    }
    values.update(fields)
    with tenant_scope(tenant):
        return EhrConnection.objects.create(tenant=tenant, **values)


def audits(**filters) -> list:
    """Audit events matching `filters`, read across tenants (on PostgreSQL, RLS hides them outside a scope)."""
    from apps.audit.models import AuditEvent
    from apps.core.tenancy import all_tenants

    with all_tenants():
        return list(AuditEvent.objects.filter(**filters).order_by("-occurred_at", "-id"))


def audit_one(**filters):
    found = audits(**filters)
    assert len(found) == 1, found
    return found[0]
