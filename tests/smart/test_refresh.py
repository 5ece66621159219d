"""Refresh (SMART checklist R1, R2), revocation on logout/suspension (R3), and the beat job, against the sandbox
over live HTTP, with a counting proxy in front of the sandbox's token endpoint."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from django.db import connections
from django.utils import timezone

from apps.core.tenancy import tenant_scope
from apps.smart import discovery, services, tasks
from apps.smart.fhir_client import FhirClient, NeedsRelaunch
from apps.smart.models import TokenGrant
from tests.smart.conftest import Browser, connect, error_code
from tests.smart.proxy import CountingProxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def launched(ehr, app, tenant_a):
    """A practitioner's EHR launch through the sandbox: (browser, app page response, grant, connection)."""
    connection = connect(tenant_a, ehr.fhir)
    browser = Browser(app)
    response = browser.run(browser.ehr_launch_url(ehr))
    assert response.status_code == 200, response.text[:500]
    with tenant_scope(tenant_a):
        grant = TokenGrant.objects.get()
    assert grant.refresh_token
    return browser, response, grant, connection


@pytest.fixture
def token_proxy(launched):
    """Route the connection's token requests through a counting proxy (by editing its cached discovery)."""
    _browser, _response, _grant, connection = launched
    result = discovery.get_configuration(connection)
    proxy = CountingProxy(result.token_endpoint)
    result.configuration["token_endpoint"] = proxy.url
    discovery.cache.set(discovery.cache_key(connection), result.to_dict(), 3600)
    yield proxy
    proxy.close()


@pytest.fixture
def eager_celery():
    """Run tasks in-process even when REDIS_URL makes Redis the broker (no worker in these tests)."""
    from config.celery import app as celery_app

    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def reload(grant: TokenGrant) -> TokenGrant:
    with tenant_scope(grant.tenant_id):
        return TokenGrant.objects.get(pk=grant.pk)


def fhir_status(ehr, token: str) -> int:
    return requests.get(
        f"{ehr.fhir}/Patient/p-001", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).status_code


def test_five_consecutive_rotations_keep_working_and_old_refresh_tokens_are_gone(ehr, launched, token_proxy):
    _browser, _response, grant, _connection = launched
    seen_refresh = {grant.refresh_token}
    for round_ in range(1, 6):
        before = reload(grant)
        after = services.refresh_grant(tenant_id=grant.tenant_id, grant_id=grant.pk, seen_version=before.token_version)
        after = reload(grant)
        assert after.token_version == before.token_version + 1
        assert after.refresh_count == round_
        assert after.refresh_token and after.refresh_token not in seen_refresh  # rotated, replaced
        seen_refresh.add(after.refresh_token)
        assert fhir_status(ehr, after.access_token) == 200
    assert token_proxy.count == 5


def test_invalid_grant_marks_the_grant_for_relaunch_never_retried_and_the_ui_prompts(ehr, launched, token_proxy):
    browser, page, grant, connection = launched
    stolen = grant.refresh_token
    services.refresh_grant(tenant_id=grant.tenant_id, grant_id=grant.pk)
    # A replay of the old refresh token makes the sandbox revoke the whole family (reuse protection) ...
    sandbox_token_url = token_proxy.target
    replay = requests.post(sandbox_token_url, data={"grant_type": "refresh_token", "refresh_token": stolen,
                                                   "client_id": connection.client_id}, timeout=30)  # fmt: skip
    assert replay.status_code == 400
    # ... so our next refresh gets invalid_grant: the grant needs a new launch.
    current = reload(grant)
    result = services.refresh_grant(tenant_id=grant.tenant_id, grant_id=grant.pk, seen_version=current.token_version)
    assert result.status == TokenGrant.Status.NEEDS_RELAUNCH
    stored = reload(grant)
    assert stored.status == "needs_relaunch" and not stored.access_token and not stored.refresh_token
    requests_so_far = token_proxy.count
    with pytest.raises(services.GrantEnded):
        services.refresh_grant(tenant_id=grant.tenant_id, grant_id=grant.pk)
    assert token_proxy.count == requests_so_far  # never retried
    # The page now asks for a new launch (not a 500).
    again = browser.get(page.url)
    assert again.status_code == 401 and error_code(again) == "needs_relaunch"


def test_a_401_refreshes_once_then_retries(ehr, launched, token_proxy):
    _browser, _response, grant, _connection = launched
    with tenant_scope(grant.tenant_id):
        TokenGrant.objects.filter(pk=grant.pk).update(access_token="no-longer-valid")
    patient = FhirClient(reload(grant)).read("Patient", "p-001")
    assert patient["id"] == "p-001"
    assert token_proxy.count == 1
    assert reload(grant).token_version == 2


def test_a_second_401_after_the_refresh_asks_for_a_new_launch(ehr, launched, token_proxy, monkeypatch):
    _browser, _response, grant, _connection = launched
    with tenant_scope(grant.tenant_id):
        TokenGrant.objects.filter(pk=grant.pk).update(access_token="no-longer-valid")
    client = FhirClient(reload(grant))
    client.base = ehr.fhir
    real_refresh = services.refresh_grant

    def refresh_to_a_bad_token(**kwargs):
        refreshed = real_refresh(**kwargs)
        refreshed.access_token = "still-bad"
        return refreshed

    monkeypatch.setattr(services, "refresh_grant", refresh_to_a_bad_token)
    with pytest.raises(NeedsRelaunch):
        client.read("Patient", "p-001")
    assert token_proxy.count == 1


@pytest.mark.postgres
def test_twenty_threads_needing_the_same_expired_token_cause_exactly_one_refresh(ehr, launched, token_proxy):
    _browser, _response, grant, _connection = launched
    with tenant_scope(grant.tenant_id):
        TokenGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    stale = reload(grant)
    start = threading.Barrier(20)
    results: list[object] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait()
            patient = FhirClient(stale).read("Patient", "p-001")
            outcome: object = patient["id"]
        except Exception as exc:  # collected and asserted below
            outcome = exc
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == ["p-001"] * 20
    assert token_proxy.count == 1
    assert reload(grant).token_version == 2


def test_beat_job_refreshes_grants_ahead_of_expiry(ehr, launched, token_proxy, settings, eager_celery):
    _browser, _response, grant, _connection = launched
    settings.SMART_REFRESH_AHEAD_SECONDS = 300
    with tenant_scope(grant.tenant_id):
        TokenGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + timedelta(seconds=120))
    assert tasks.refresh_expiring_grants.delay().get() == 1  # eager in tests: runs in-process
    refreshed = reload(grant)
    assert refreshed.token_version == 2 and refreshed.expires_at > timezone.now() + timedelta(seconds=600)
    assert tasks.refresh_expiring_grants.delay().get() == 0  # nothing due any more
    assert token_proxy.count == 1


def test_tenant_suspension_revokes_at_the_ehr_and_wipes_tokens(ehr, launched, tenant_a, eager_celery):
    from apps.tenants import services as tenant_services

    _browser, _response, grant, _connection = launched
    access = grant.access_token
    assert fhir_status(ehr, access) == 200
    tenant_services.suspend_tenant(tenant=tenant_a)
    stored = reload(grant)
    assert stored.status == "revoked" and stored.end_reason == "tenant_suspended"
    assert not stored.access_token and not stored.refresh_token and not stored.id_token
    assert fhir_status(ehr, access) == 401
