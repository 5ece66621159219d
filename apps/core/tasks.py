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

    def enqueue_on_commit(
        self, tenant_id: int, *args: Any, options: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Send the task once the surrounding transaction commits; `options` go to apply_async (queue, countdown)."""
        transaction.on_commit(lambda: self.apply_async((tenant_id, *args), kwargs, **(options or {})))
