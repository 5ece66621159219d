"""Benchmark the clinician summary page for a heavy patient (5,000+ Observations): cold and warm.

    .venv/bin/python bench/dashboard.py [--rounds-cold 5] [--rounds-warm 30]
    DATABASE_URL=postgres://carelaunch@127.0.0.1:5432/carelaunch_bench REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/dashboard.py

The sandbox EHR runs in its own gunicorn process (2 workers × 4 threads) on 127.0.0.1, so CareLaunch's reads
go over real HTTP, exactly as against a hospital's EHR. The summary page is rendered in this process through the
full middleware stack (Django test client): the time printed is server time. Cold = the per-grant cache is
cleared before each request (every resource type fetched from the sandbox, in parallel, every page followed);
warm = served from the cache. Also prints each resource type fetched alone (the slowest one is the floor for
the cold page) and this worker's peak memory. Prints tables; asserts nothing.
Uses its own SQLite file (var/bench-dashboard.sqlite3) unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import socket
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-dashboard.sqlite3'}")
os.environ["DJANGO_DEBUG"] = "0"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.core.crypto import lookup_hash  # noqa: E402
from apps.core.models import Tenant  # noqa: E402
from apps.core.tenancy import tenant_scope  # noqa: E402
from apps.engagement import fhir_reads, selectors  # noqa: E402
from apps.sandbox.grants import issue_grant  # noqa: E402
from apps.sandbox.models import SandboxResource  # noqa: E402
from apps.smart import services as smart_services  # noqa: E402
from apps.smart.models import LaunchMode, SmartSession, TokenGrant  # noqa: E402
from apps.tenants.models import EhrConnection  # noqa: E402

PATIENT = "p-h01"
UA = "CareLaunch-bench/1"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sandbox(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-w", "2", "--threads", "4", "-b",
         f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env={**os.environ},
    )  # fmt: skip
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit("the sandbox did not start")


def launch(port: int) -> tuple[TokenGrant, str]:
    base = f"http://127.0.0.1:{port}"
    tenant, _ = Tenant.objects.get_or_create(slug="bench-engagement", defaults={
        "name_en": "Bench Hospital", "name_zh_hant": "測試醫院", "status": "active"})  # fmt: skip
    scopes = "launch openid fhirUser patient/*.rs"
    token = issue_grant(client_id="bench-engagement", scopes=scopes, patient_id=PATIENT,
                        fhir_user="Practitioner/pr-001")  # fmt: skip
    handle = secrets.token_urlsafe(32)
    binding = smart_services.binding_for(cookie_value="", presented=False, client_ip="127.0.0.1", user_agent=UA)
    now = timezone.now()
    with tenant_scope(tenant):
        EhrConnection.objects.filter(tenant=tenant).delete()
        connection = EhrConnection.objects.create(
            tenant=tenant, label="Sandbox", fhir_base_url=f"{base}/sandbox/fhir", client_id="bench-engagement",
            scopes=scopes, launch_ehr=True,
        )  # fmt: skip
        grant = TokenGrant.objects.create(
            tenant=tenant, connection=connection, mode=LaunchMode.EHR, access_token=token,
            expires_at=now + timedelta(hours=1), requested_scopes=scopes, granted_scopes=scopes,
            fhir_base_url=f"{base}/sandbox/fhir", fhir_user=f"{base}/sandbox/fhir/Practitioner/pr-001",
            patient=PATIENT, need_patient_banner=True,
        )  # fmt: skip
        SmartSession.objects.create(
            tenant=tenant, handle_hash=lookup_hash(f"smart-session:{handle}"), grant=grant, patient=PATIENT,
            cookie_hash=binding.cookie_hash, fingerprint_hash=binding.fingerprint_hash, last_seen_at=now,
            expires_at=now + timedelta(hours=8),
        )  # fmt: skip
    url = reverse("engagement:summary", kwargs={"tenant_slug": tenant.slug, "handle": handle})
    return grant, url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds-cold", type=int, default=5)
    parser.add_argument("--rounds-warm", type=int, default=30)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    if not SandboxResource.objects.filter(resource_type="Patient", logical_id=PATIENT).exists():
        print("seeding the sandbox (once)…", flush=True)
        call_command("seed_sandbox", verbosity=0)
    observations = SandboxResource.objects.filter(resource_type="Observation", patient_id=PATIENT).count()

    port = free_port()
    sandbox = start_sandbox(port)
    try:
        grant, url = launch(port)
        client = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1")

        def get() -> float:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.content[:500]
            return elapsed

        cache.clear()
        get()  # warm up imports, templates, connections
        cold = []
        for _ in range(args.rounds_cold):
            cache.clear()
            cold.append(get())
        warm = [get() for _ in range(args.rounds_warm)]
        # Python allocations of one cold and one warm view, measured separately (tracemalloc slows Python down).
        tracemalloc.start()
        cache.clear()
        get()
        get()
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(5):
                get()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)

        singles: dict[str, list[float]] = {name: [] for name in selectors.SUMMARY_READS}
        for _ in range(3):
            for name in selectors.SUMMARY_READS:
                result = fhir_reads._fetch(grant, name, close_connections=False)
                singles[name].append(result.seconds * 1000)
        single_median = {name: sorted(times)[1] for name, times in singles.items()}
        slowest_name = max(single_median, key=single_median.get)
        slowest = single_median[slowest_name]
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        backend = os.environ.get("DATABASE_URL", "").split(":")[0]
        print(f"\nSummary page, heavy patient {PATIENT}: {observations} Observations "
              f"(database {backend}, cache {cache.__class__.__name__})\n")  # fmt: skip
        print(f"{'':22}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
        for label, values in (("cold (from sandbox)", cold), ("warm (from cache)", warm)):
            print(f"{label:22}{len(values):>4}{pct(values, 50):>10.1f}{pct(values, 95):>10.1f}{max(values):>10.1f}")
        print("\nEach resource type fetched alone (median of 3, all pages):")
        for name, value in sorted(single_median.items(), key=lambda item: -item[1]):
            print(f"  {fhir_reads.QUERIES[name].resource_type:24}{value:>10.1f} ms")
        print(f"\nslowest single fetch: {fhir_reads.QUERIES[slowest_name].resource_type} {slowest:.1f} ms")
        print(f"cold p50 / slowest single fetch: {pct(cold, 50) / slowest:.2f}× (target ≤ 1.5×)")
        print(f"warm p95: {pct(warm, 95):.1f} ms (target ≤ 150 ms)")
        print(f"worker peak memory: {rss_mb:.0f} MB RSS (max); peak Python allocations during one cold + one warm "
              f"view: {traced_peak / 1e6:.1f} MB")  # fmt: skip
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
