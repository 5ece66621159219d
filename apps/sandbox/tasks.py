"""Celery tasks of the sandbox EHR (not tenant work: the sandbox plays an external EHR)."""

from __future__ import annotations

from celery import shared_task

from apps.sandbox.bulk import services as bulk


@shared_task(name="sandbox.run_bulk_export", soft_time_limit=3600, time_limit=3660)
def run_bulk_export(job_id: str) -> None:
    """Bulk Data 2.0 export run. Takes the job id only; idempotent (a redelivery rewrites the same files)."""
    bulk.run_export(job_id=job_id)
