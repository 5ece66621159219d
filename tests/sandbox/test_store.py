"""Store-level properties of the Bulk export: memory stays flat whatever the export size."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timedelta

from django.utils import timezone

from apps.sandbox import services
from apps.sandbox.bulk import services as bulk
from apps.sandbox.data.generator import ANCHOR, TPE, generate
from apps.sandbox.models import BulkExportJob


def _export_peak(since: datetime | None) -> tuple[int, int]:
    job = BulkExportJob.objects.create(client_id="c", level="patient", types=["Observation"], request_url="x",
                                       transaction_time=timezone.now(), since=since)  # fmt: skip
    tracemalloc.start()
    bulk.run_export(job_id=str(job.pk))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, (bulk.job_dir(job.pk) / "Observation.ndjson").stat().st_size


def test_export_memory_does_not_grow_with_the_file(db, settings, tmp_path):
    settings.SANDBOX_BULK_DIR = tmp_path
    services.bulk_insert(generate(patients=0, heavy=1, heavy_observations=8000).resources)
    # 4 readings a day: the last 500 days hold about a quarter of the heavy patient's 8,000 Observations.
    recent = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=TPE) - timedelta(days=500)
    large_peak, large_size = _export_peak(None)
    small_peak, small_size = _export_peak(recent)
    assert large_size > 3.5 * small_size > 0
    # Rows are held one chunk at a time: four times the data, about the same peak.
    assert large_peak < 1.5 * small_peak, (large_peak, small_peak)
