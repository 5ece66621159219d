"""Staff approve / suspend tenants through audited Django admin actions."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from apps.core.models import Tenant
from apps.tenants import services
from tests.tenants.factories import audit_one


def staff_client(client):
    staff = get_user_model().objects.create_superuser("staff", "staff@example.org", "staff-password-123")
    client.force_login(staff)
    return staff


def act(client, action, *tenants):
    return client.post(
        "/admin/core/tenant/",
        {"action": action, "_selected_action": [t.pk for t in tenants]},
        follow=True,
    )


def test_approve_and_suspend_are_audited(client, db):
    staff = staff_client(client)
    tenant = services.create_tenant(slug="gamma", name_en="Gamma", name_zh_hant="")
    response = act(client, "approve_tenants", tenant)
    assert response.status_code == 200
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE
    approved = audit_one(action="tenant.approved", tenant=tenant)
    assert approved.actor_id == staff.pk and approved.outcome == "success"
    act(client, "suspend_tenants", tenant)
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.SUSPENDED
    assert audit_one(action="tenant.suspended", tenant=tenant).actor_id == staff.pk


def test_approval_refused_for_iss_conflict_shows_error(client, db):
    staff_client(client)
    data = {"label": "Main", "fhir_base_url": "https://ehr.example.org/fhir", "client_id": "x"}
    first = services.create_tenant(slug="gamma", name_en="Gamma", name_zh_hant="")
    second = services.create_tenant(slug="delta", name_en="Delta", name_zh_hant="")
    services.save_connection(tenant=first, data=data)
    services.save_connection(tenant=second, data=data)
    act(client, "approve_tenants", first)
    response = act(client, "approve_tenants", second)
    second.refresh_from_db()
    assert second.status == Tenant.Status.PENDING
    assert "already connected to another active tenant" in response.content.decode()


def test_status_is_not_editable_in_the_form(client, db):
    staff_client(client)
    tenant = services.create_tenant(slug="gamma", name_en="Gamma", name_zh_hant="")
    client.post(
        f"/admin/core/tenant/{tenant.pk}/change/",
        {"slug": "gamma", "name_en": "Gamma", "name_zh_hant": "丙", "status": "active"},
    )
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.PENDING
