"""A real Celery worker process, against Redis and PostgreSQL, runs a TenantTask enqueued on commit."""

import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import transaction

from apps.core.tenancy import tenant_scope
from config.celery import VISIBILITY_TIMEOUT_SECONDS, app
from tests.support.models import Note
from tests.support.tasks import append_to_note
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:10]}"
    with celery_worker(queues=[queue]):
        yield queue


def _wait_for(predicate, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_celery_is_configured_for_safe_delivery():
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] == VISIBILITY_TIMEOUT_SECONDS
    assert not conf.task_always_eager  # REDIS_URL is set: tasks go through the broker


def test_worker_runs_a_tenant_task_enqueued_on_commit(tenant_a, tenant_b, worker_queue):
    with tenant_scope(tenant_a):
        note = Note.objects.create(tenant=tenant_a, body="queued")
    with tenant_scope(tenant_b):
        other = Note.objects.create(tenant=tenant_b, body="untouched")

    with transaction.atomic():
        append_to_note.enqueue_on_commit(tenant_a.pk, note.pk, " + done by worker", options={"queue": worker_queue})
        # Nothing reaches the broker before the commit.
        assert redis.Redis.from_url(settings.REDIS_URL).llen(worker_queue) == 0

    def done() -> bool:
        with tenant_scope(tenant_a):
            return Note.objects.get(pk=note.pk).body == "queued + done by worker"

    assert _wait_for(done), "the worker did not run the task"
    with tenant_scope(tenant_b):
        assert Note.objects.get(pk=other.pk).body == "untouched"


def test_rolled_back_transaction_enqueues_nothing(tenant_a, worker_queue):
    with tenant_scope(tenant_a):
        note = Note.objects.create(tenant=tenant_a, body="kept")

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic(), tenant_scope(tenant_a):
        append_to_note.enqueue_on_commit(tenant_a.pk, note.pk, " + should never run", options={"queue": worker_queue})
        raise Rollback

    # A task that does run proves the worker was up: the first one would have run before it.
    append_to_note.apply_async((tenant_a.pk, note.pk, " + marker"), queue=worker_queue)

    def marker_ran() -> bool:
        with tenant_scope(tenant_a):
            return Note.objects.get(pk=note.pk).body.endswith("+ marker")

    assert _wait_for(marker_ran)
    with tenant_scope(tenant_a):
        assert Note.objects.get(pk=note.pk).body == "kept + marker"


def test_tenant_task_refuses_to_run_without_a_tenant_scope_on_other_tenants_rows(tenant_a, tenant_b):
    """In-process call: the task body runs in the scope of the tenant id it was given, nothing else."""
    with tenant_scope(tenant_b):
        other = Note.objects.create(tenant=tenant_b, body="beta")
    with pytest.raises(Note.DoesNotExist):
        append_to_note.apply(args=(tenant_a.pk, other.pk, "x"), throw=True)
