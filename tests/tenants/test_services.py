from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.core.models import Tenant
from apps.core.tenancy import all_tenants, tenant_scope
from apps.smart import discovery
from apps.tenants import selectors, services
from apps.tenants.models import EhrConnection, Membership
from apps.tenants.tasks import refresh_all_discovery
from tests.tenants.factories import audit_one, audits, make_connection, make_user

VALID = {"label": "Main EHR", "fhir_base_url": "https://ehr.example.org/fhir/", "client_id": "abc"}


def test_create_tenant_pending_with_owner_keys_and_audit(db):
    owner = make_user("owner")
    tenant = services.create_tenant(slug="gamma", name_en="Gamma", name_zh_hant="丙醫院", owner=owner)
    assert tenant.status == Tenant.Status.PENDING
    with tenant_scope(tenant):
        assert Membership.objects.get(tenant=tenant).role == "owner"
    assert len(selectors.jwks_for_tenant(tenant)["keys"]) == 2
    assert audits(action="tenant.created", tenant=tenant)


def test_save_connection_normalises_and_audits(tenant_a):
    connection = services.save_connection(tenant=tenant_a, data=VALID, actor="t")
    assert connection.fhir_base_url == "https://ehr.example.org/fhir"
    event = audit_one(action="connection.created", tenant=tenant_a)
    assert event.detail["iss"] == "https://ehr.example.org/fhir"
    services.save_connection(tenant=tenant_a, data={"scopes": "launch openid"}, connection=connection)
    event = audit_one(action="connection.changed", tenant=tenant_a)
    assert event.detail["fields"] == ["scopes"]


def test_client_secret_encrypted_never_in_audit_and_kept_when_blank(tenant_a):
    data = {**VALID, "client_auth_method": "client_secret_basic", "client_secret": "s3cr3t-value-123456"}
    connection = services.save_connection(tenant=tenant_a, data=data)
    from django.db import connection as db

    with tenant_scope(tenant_a), db.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM tenants_ehrconnection")
        assert "s3cr3t" not in cursor.fetchone()[0]
    services.save_connection(tenant=tenant_a, data={"client_secret": "", "label": "Renamed"}, connection=connection)
    with tenant_scope(tenant_a):
        assert EhrConnection.objects.get().client_secret == "s3cr3t-value-123456"
    assert connection.secret_hint == "…3456"
    for event in audits():
        assert "s3cr3t" not in str(event.detail)


def test_client_secret_required_for_basic_auth(tenant_a):
    with pytest.raises(ValidationError) as info:
        services.save_connection(tenant=tenant_a, data={**VALID, "client_auth_method": "client_secret_basic"})
    assert "client_secret" in info.value.message_dict


def test_failed_save_changes_nothing(tenant_a):
    connection = services.save_connection(tenant=tenant_a, data=VALID)
    with pytest.raises(ValidationError):
        services.save_connection(
            tenant=tenant_a,
            data={"label": "New label", "fhir_base_url": "https://u:p@ehr.example.org/fhir"},
            connection=connection,
        )
    with tenant_scope(tenant_a):
        fresh = EhrConnection.objects.get(pk=connection.pk)
    assert fresh.label == "Main EHR"
    assert not audits(action="connection.changed")


def test_same_iss_cannot_belong_to_two_active_tenants(tenant_a, tenant_b):
    services.save_connection(tenant=tenant_a, data=VALID)
    with pytest.raises(ValidationError) as info:
        services.save_connection(tenant=tenant_b, data={**VALID, "fhir_base_url": "https://EHR.example.org/fhir"})
    assert info.value.message_dict["fhir_base_url"]


def test_activation_refused_when_iss_taken_by_active_tenant(db):
    first = services.create_tenant(slug="gamma", name_en="Gamma", name_zh_hant="")
    second = services.create_tenant(slug="delta", name_en="Delta", name_zh_hant="")
    services.save_connection(tenant=first, data=VALID)  # pending tenants may both register it...
    services.save_connection(tenant=second, data=VALID)
    services.activate_tenant(tenant=first, actor="staff")
    with pytest.raises(ValidationError):
        services.activate_tenant(tenant=second, actor="staff")  # ...but only one goes live with it
    second.refresh_from_db()
    assert second.status == "pending"
    assert audits(action="tenant.approved", outcome="failure", tenant=second)
    services.suspend_tenant(tenant=first, actor="staff")
    services.activate_tenant(tenant=second, actor="staff")
    second.refresh_from_db()
    assert second.status == "active"
    assert audits(action="tenant.suspended", tenant=first)
    assert audits(action="tenant.approved", outcome="success", tenant=second)


def test_duplicate_label_and_iss_within_tenant(tenant_a):
    services.save_connection(tenant=tenant_a, data=VALID)
    with pytest.raises(ValidationError) as info:
        services.save_connection(tenant=tenant_a, data={**VALID, "fhir_base_url": "https://other.example.org"})
    assert "label" in info.value.message_dict
    with pytest.raises(ValidationError) as info:
        services.save_connection(tenant=tenant_a, data={**VALID, "label": "Other"})
    assert "fhir_base_url" in info.value.message_dict


def test_viewer_cannot_edit(tenant_a):
    user = make_user("viewer")
    with tenant_scope(tenant_a):
        membership = Membership.objects.create(tenant=tenant_a, user=user, role="viewer")
    with pytest.raises(PermissionDenied):
        services.require_editor(membership)


def test_find_active_connection_for_iss(tenant_a, tenant_b):
    make_connection(tenant_a, fhir_base_url="https://ehr.example.org/fhir")
    found = selectors.find_active_connection_for_iss("https://EHR.example.org/fhir/")
    assert found is not None and found.tenant_id == tenant_a.pk
    assert selectors.find_active_connection_for_iss("https://evil.example.org/fhir") is None
    assert selectors.find_active_connection_for_iss("not a url") is None
    tenant_a.status = "suspended"
    tenant_a.save()
    assert selectors.find_active_connection_for_iss("https://ehr.example.org/fhir") is None


def test_test_connection_stores_discovery_and_audits(tenant_a, ehr):
    ehr.serve_smart()
    connection = make_connection(tenant_a, fhir_base_url=ehr.fhir())
    report = services.test_connection(connection=connection, actor="t")
    assert report.ok
    with tenant_scope(tenant_a):
        fresh = EhrConnection.objects.get(pk=connection.pk)
    assert fresh.smart_configuration["token_endpoint"].endswith("/fhir/auth/token")
    assert "permission-v2" in fresh.capabilities
    assert fresh.discovery_fetched_at and fresh.last_test_ok is True
    assert audits(action="connection.tested", outcome="success")


def test_test_connection_failure_is_recorded(tenant_a, ehr):
    ehr.serve_smart(code_challenge_methods_supported=["plain"])
    connection = make_connection(tenant_a, fhir_base_url=ehr.fhir())
    report = services.test_connection(connection=connection)
    assert not report.ok and report.error.code == "no_s256"
    with tenant_scope(tenant_a):
        assert EhrConnection.objects.get(pk=connection.pk).last_test_error == "no_s256"
    assert audit_one(action="connection.tested").outcome == "failure"


@pytest.fixture
def eager_tasks():
    """Run the beat job's per-connection tasks in-process (also when REDIS_URL points Celery at a broker)."""
    from config.celery import app as celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_daily_refresh_scans_all_tenants_and_audits_changes(tenant_a, tenant_b, ehr, eager_tasks):
    ehr.serve_smart(prefix="/a")
    ehr.serve_smart(prefix="/b")
    a = make_connection(tenant_a, fhir_base_url=ehr.fhir("/a"))
    make_connection(tenant_b, fhir_base_url=ehr.fhir("/b"))
    assert refresh_all_discovery() == 2  # each TenantTask ran (eagerly) in its tenant's scope
    with all_tenants():
        assert all(c.discovery_fetched_at for c in EhrConnection.objects.all())
    assert len(audits(action="connection.discovery_changed")) == 2
    # The EHR changes its token endpoint: the next run records the change, for that tenant only.
    ehr.serve_smart(prefix="/a", token_endpoint="https://auth.example.org/new-token")
    refresh_all_discovery()
    changes = audits(action="connection.discovery_changed", tenant=tenant_a)
    assert len(changes) == 2
    assert "token_endpoint" in changes[0].detail["changed"]
    assert len(audits(action="connection.discovery_changed", tenant=tenant_b)) == 2 - 1
    assert discovery.get_configuration(a).token_endpoint == "https://auth.example.org/new-token"


def test_changing_iss_clears_old_discovery(tenant_a, ehr):
    ehr.serve_smart()
    connection = make_connection(tenant_a, fhir_base_url=ehr.fhir())
    services.test_connection(connection=connection)
    services.save_connection(tenant=tenant_a, data={"fhir_base_url": ehr.fhir("/other")}, connection=connection)
    with tenant_scope(tenant_a):
        fresh = EhrConnection.objects.get(pk=connection.pk)
    assert fresh.smart_configuration == {} and fresh.discovery_fetched_at is None
