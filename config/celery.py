"""Celery application.

Redis is the broker when REDIS_URL is set; without it (embedded mode) tasks run in-process, eagerly.
Tasks are thin: they take ids (tenant first), call one service, are idempotent and are enqueued on commit
(`TenantTask.enqueue_on_commit`).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# The longest countdown/eta any task uses (token refresh ahead of expiry, write-back backoff) is one hour;
# the visibility timeout must exceed it or Redis re-delivers the message while it is still waiting.
LONGEST_COUNTDOWN_SECONDS = 60 * 60
VISIBILITY_TIMEOUT_SECONDS = 2 * LONGEST_COUNTDOWN_SECONDS

app = Celery("carelaunch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_soft_time_limit=120,
    task_time_limit=180,
    worker_prefetch_multiplier=1,
    broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
    result_backend=None,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    timezone="UTC",
)
app.autodiscover_tasks()
