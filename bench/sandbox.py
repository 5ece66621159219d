"""Benchmark the sandbox EHR: FHIR search paging on a heavy patient, and a Bulk export of all patients.

    DATABASE_URL=postgres://carelaunch@127.0.0.1:5432/carelaunch_bench .venv/bin/python bench/sandbox.py

Server time is measured in-process (Django test client through the full middleware stack, real database), so
it excludes network and HTTP parsing. Seeds the sandbox first when the heavy patient is missing (or with --seed).
Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from apps.sandbox.bulk import services as bulk  # noqa: E402
from apps.sandbox.grants import issue_grant  # noqa: E402
from apps.sandbox.models import BulkExportJob, SandboxResource  # noqa: E402
from config.celery import app as celery_app  # noqa: E402

HOST = "127.0.0.1"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def walk(client: Client, token: str, url: str) -> list[float]:
    times = []
    while url:
        started = time.perf_counter()
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/fhir+json")
        body = response.content
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, body[:300]
        bundle = __import__("json").loads(body)
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
    return times


def bench_search(client: Client, patient: str, rounds: int) -> None:
    token = issue_grant(client_id="bench", scopes="user/*.read", fhir_user="Practitioner/pr-001")
    total = SandboxResource.objects.filter(resource_type="Observation", patient_id=patient).count()
    print(f"\nFHIR search: Observation?patient={patient} ({total} Observations), {rounds} rounds, "
          f"{connection.vendor}")  # fmt: skip
    print(f"{'query':<44} {'pages':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, query in (
        ("_count=200", f"/sandbox/fhir/Observation?patient={patient}&_count=200"),
        ("_count=200&_sort=-date", f"/sandbox/fhir/Observation?patient={patient}&_count=200&_sort=-date"),
        ("_count=200&code=8867-4", f"/sandbox/fhir/Observation?patient={patient}&_count=200&code=8867-4"),
        ("_count=200&date=ge2024-01-01", f"/sandbox/fhir/Observation?patient={patient}&_count=200&date=ge2024-01-01"),
    ):
        walk(client, token, query)  # warm-up
        times: list[float] = []
        pages = 0
        for _ in range(rounds):
            run = walk(client, token, query)
            pages = len(run)
            times.extend(run)
        print(f"{label:<44} {pages:>5} {pct(times, 50):>8.1f} {pct(times, 95):>8.1f} {max(times):>8.1f}")


def bench_export(client: Client) -> None:
    celery_app.conf.task_always_eager = True
    token = issue_grant(client_id="bench-backend", scopes="system/*.read", is_system=True)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    exported = SandboxResource.objects.exclude(patient_id="").count()
    print(f"\nBulk export: Patient/$export of all patients ({exported} resources), {connection.vendor}")

    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/sandbox/fhir/Patient/$export", HTTP_PREFER="respond-async", **auth)
    elapsed = time.perf_counter() - started
    _, export_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert response.status_code == 202, response.content
    status_url = response["Content-Location"]
    job = BulkExportJob.objects.get(pk=status_url.rstrip("/").rsplit("/", 1)[1])
    assert job.status == BulkExportJob.Status.DONE, job.status
    size = sum(p.stat().st_size for p in bulk.job_dir(job.pk).iterdir())
    print(f"{'step':<34} {'seconds':>8} {'MB written/read':>16} {'peak traced MB':>15}")
    print(f"{'kick-off + export (in-process)':<34} {elapsed:>8.2f} {size / 1e6:>16.1f} {export_peak / 1e6:>15.1f}")

    manifest = client.get(status_url, **auth).json()
    tracemalloc.start()
    started = time.perf_counter()
    read = 0
    for item in manifest["output"]:
        file_response = client.get(item["url"], HTTP_ACCEPT="application/fhir+ndjson", **auth)
        for block in file_response.streaming_content:
            read += len(block)
        file_response.close()
    elapsed = time.perf_counter() - started
    _, download_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{'download all files (streamed)':<34} {elapsed:>8.2f} {read / 1e6:>16.1f} {download_peak / 1e6:>15.1f}")
    client.delete(status_url, **auth)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (ru_maxrss, whole run): {rss:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", action="store_true", help="re-seed the sandbox before measuring")
    parser.add_argument("--patient", default="p-h01")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--heavy-observations", type=int, default=5200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if args.seed or not SandboxResource.objects.filter(resource_type="Patient", logical_id=args.patient).exists():
        started = time.perf_counter()
        call_command("seed_sandbox", heavy_observations=args.heavy_observations, stdout=open(os.devnull, "w"))  # noqa: SIM115
        print(f"seed_sandbox: {time.perf_counter() - started:.1f} s")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    client = Client(HTTP_HOST=HOST)
    bench_search(client, args.patient, args.rounds)
    bench_export(client)


if __name__ == "__main__":
    main()
