"""Celery base class for work done on behalf of one tenant."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction

from apps.core.tenancy import tenant_scope


class TenantTask(Task):
    """A task whose first argument is the tenant id; the body runs inside that tenant's scope.

    Enqueue with `enqueue_on_commit(tenant_id, ...)` so the worker never sees ids of rows that were
    rolled back or are not committed yet.
    """

    abstract = True

    def __call__(self, tenant_id: int, *args: Any, **kwargs: Any) -> Any:
        with tenant_scope(tenant_id):
            return super().__call__(tenant_id, *args, **kwargs)

    def enqueue_on_commit(self, tenant_id: int, *args: Any, **kwargs: Any) -> None:
        transaction.on_commit(lambda: self.delay(tenant_id, *args, **kwargs))
