"""Staff read the whole audit trail in the Django admin (the one cross-tenant view), and cannot change it."""

import pytest

from apps.audit import services as audit
from apps.audit.models import AuditEvent
from apps.core.tenancy import all_tenants


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_user("staff", "s@carelaunch.example", "a long password 123")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    return client


def test_staff_see_events_of_every_tenant(staff_client, tenant_a, tenant_b):
    audit.record(action="test.alpha-event", tenant=tenant_a)
    audit.record(action="test.beta-event", tenant=tenant_b)
    body = staff_client.get("/admin/audit/auditevent/").content.decode()
    assert "test.alpha-event" in body and "test.beta-event" in body


def test_staff_cannot_change_or_delete_events(staff_client, tenant_a):
    event = audit.record(action="test.kept", tenant=tenant_a)
    assert staff_client.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    response = staff_client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"action": "test.rewritten"})
    assert response.status_code == 403
    with all_tenants():
        assert AuditEvent.objects.get(pk=event.pk).action == "test.kept"


def test_non_staff_are_sent_to_the_admin_login(client, django_user_model, tenant_a):
    user = django_user_model.objects.create_user("it", "it@a.example", "a long password 123")
    client.force_login(user)
    response = client.get("/admin/audit/auditevent/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_launch_in_the_same_browser_does_not_narrow_the_admin(staff_client, tenant_a, tenant_b):
    """A staff member who also launched the app for tenant A still sees every tenant in the admin."""
    from apps.core.middleware import SESSION_TENANT_KEY

    audit.record(action="test.alpha-event", tenant=tenant_a)
    audit.record(action="test.beta-event", tenant=tenant_b)
    session = staff_client.session
    session[SESSION_TENANT_KEY] = tenant_a.pk
    session.save()
    body = staff_client.get("/admin/audit/auditevent/").content.decode()
    assert "test.alpha-event" in body and "test.beta-event" in body
