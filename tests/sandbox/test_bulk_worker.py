"""A Bulk export kicked off over HTTP is run by a real Celery worker process (Redis broker, PostgreSQL)."""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings

from tests.support.worker import celery_worker

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def worker(fhir, settings, tmp_path):
    settings.SANDBOX_BULK_DIR = tmp_path / "bulk"
    # The default queue of this test run's Redis database must start empty.
    redis.Redis.from_url(settings.REDIS_URL).delete("celery")
    with celery_worker(env={"SANDBOX_BULK_DIR": str(tmp_path / "bulk")}) as process:
        yield process


def test_worker_runs_the_export_and_the_client_polls_until_done(fhir, worker):
    from config.celery import app

    assert not app.conf.task_always_eager and settings.REDIS_URL
    token = fhir.token("system/*.read", is_system=True, client_id="backend-app")
    kickoff = fhir.get("Patient/$export", token, headers={"Prefer": "respond-async"}, params={"_type": "Patient"})
    assert kickoff.status_code == 202
    status_url = kickoff.headers["Content-Location"]
    deadline = time.monotonic() + 60
    seen_in_progress = False
    while time.monotonic() < deadline:
        response = fhir.get(status_url, token)
        if response.status_code == 200:
            break
        assert response.status_code == 202
        assert response.headers["X-Progress"] and int(response.headers["Retry-After"]) > 0
        seen_in_progress = True
        time.sleep(0.3)
    assert response.status_code == 200, "the worker did not finish the export"
    assert seen_in_progress  # the kick-off answered before the export ran
    manifest = response.json()
    assert [item["type"] for item in manifest["output"]] == ["Patient"]
    lines = fhir.get(manifest["output"][0]["url"], token, headers={"Accept": "application/fhir+ndjson"})
    assert len(lines.text.splitlines()) == manifest["output"][0]["count"] == 5
