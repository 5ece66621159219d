"""The audit trail is append-only, in the ORM and in the database itself, and never holds secrets."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from apps.audit import services as audit
from apps.audit.models import AppendOnlyError, AuditEvent
from apps.core.middleware import RequestIdMiddleware
from apps.core.tenancy import all_tenants, tenant_scope


@pytest.fixture
def event(tenant_a):
    return audit.record(action="test.event", tenant=tenant_a, target="note:1", patient="Patient/p-1")


def test_record_fills_time_tenant_and_outcome(event, tenant_a):
    assert event.pk is not None
    assert event.occurred_at.utcoffset().total_seconds() == 0
    assert event.tenant_id == tenant_a.pk
    assert event.outcome == "success"
    assert event.patient == "Patient/p-1"


def test_tenant_defaults_to_the_active_scope(tenant_b):
    with tenant_scope(tenant_b):
        assert audit.record(action="test.scoped").tenant_id == tenant_b.pk


def test_orm_cannot_update_or_delete(event):
    event.outcome = "failure"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with all_tenants():
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).update(outcome="failure")
        with pytest.raises(AppendOnlyError):
            AuditEvent.objects.filter(pk=event.pk).delete()


# Raw SQL runs where the row is visible (under RLS an unscoped UPDATE would simply match nothing), so
# only the database trigger stands between it and the row.
def test_raw_sql_cannot_update(event):
    with all_tenants(), pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'failure' WHERE id = %s", [event.pk])


@pytest.mark.postgres
def test_raw_sql_cannot_delete(event):
    with all_tenants(), pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with all_tenants():
        assert AuditEvent.objects.filter(pk=event.pk, outcome="success").exists()


@pytest.mark.postgres
def test_events_are_readable_only_within_their_tenant(tenant_a, tenant_b):
    audit.record(action="test.a", tenant=tenant_a)
    audit.record(action="test.b", tenant=tenant_b)
    with tenant_scope(tenant_a):
        assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.a"]
    with all_tenants():
        assert AuditEvent.objects.count() == 2


def test_secrets_are_scrubbed_from_detail(tenant_a):
    event = audit.record(
        action="test.secret",
        tenant=tenant_a,
        detail={
            "access_token": "abc123",
            "nested": {"client_secret": "s3cr3t", "note": "Authorization: Bearer eyJhbGciOi.eyJzdWIi.sig"},
            "list": ["refresh_token=zzz", "fine"],
        },
    )
    flat = str(event.detail)
    for secret in ("abc123", "s3cr3t", "eyJhbGciOi", "zzz"):
        assert secret not in flat
    assert "fine" in flat


def test_request_id_and_client_ip_come_from_the_request(tenant_a):
    captured = {}

    def view(request):
        captured["event"] = audit.record(action="test.request", tenant=tenant_a)
        from django.http import HttpResponse

        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_REQUEST_ID="req-12345678")
    response = RequestIdMiddleware(view)(request)
    event = captured["event"]
    assert event.request_id == "req-12345678" == response["X-Request-ID"]
    assert event.client_ip == "203.0.113.9"


def test_malformed_request_id_is_replaced(tenant_a):
    from django.http import HttpResponse

    request = RequestFactory().get("/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    response = RequestIdMiddleware(lambda r: HttpResponse())(request)
    assert "\n" not in response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32
