"""Time CareLaunch's own handling of /launch and of the callback over N full EHR launches against the sandbox.

Usage:  .venv/bin/python bench/launch.py [-n 50]
        BENCH_DATABASE_URL=postgres://…/empty_db BENCH_REDIS_URL=redis://…/N .venv/bin/python bench/launch.py -n 100

Runs in-process: a fresh SQLite database in a temporary directory, the sandbox EHR seeded with a few synthetic
resources, and one threaded WSGI server reached as http://localhost:PORT (the EHR) and http://127.0.0.1:PORT
(CareLaunch), as in the tests. Each launch goes through the sandbox's EHR simulator, /launch, the sandbox's
consent page and the callback. CareLaunch reports, per response, `Server-Timing: app;dur=…, ehr;dur=…`: the
time spent inside outbound calls to the EHR (discovery, token exchange, JWKS) is measured around those calls
and subtracted, so `app` is CareLaunch's own time. Prints a table; target p95 ≤ 50 ms each.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = tempfile.mkdtemp(prefix="carelaunch-bench-")
# BENCH_DATABASE_URL (e.g. an empty PostgreSQL database of your own) instead of the temporary SQLite file.
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{TMP}/bench.sqlite3"
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CARELAUNCH_DATA_DIR": TMP,
        "DATABASE_URL": DATABASE_URL,
        "SMART_SERVER_TIMING": "true",
        "LOG_LEVEL": "WARNING",
        "SMART_RATE_LIMIT_LAUNCH": "100000",
        "SMART_RATE_LIMIT_CALLBACK": "100000",
    }
)
os.environ.pop("REDIS_URL", None)
if os.environ.get("BENCH_REDIS_URL"):  # production-like: cache and sessions in Redis
    os.environ["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.utils import timezone  # noqa: E402

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TIMING = re.compile(r"(\w+);dur=([0-9.]+)")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve() -> int:
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_port


def seed(ehr_fhir: str):
    from apps.core.models import Tenant
    from apps.core.tenancy import tenant_scope
    from apps.sandbox import services as sandbox_services
    from apps.sandbox.oauth.models import ClientProfile
    from apps.sandbox.oauth.services import ensure_client, ensure_sandbox_user
    from apps.tenants import selectors
    from apps.tenants.models import EhrConnection

    now = timezone.now()
    resources = [
        {"resourceType": "Practitioner", "id": "pr-001", "name": [{"family": "黃", "given": ["建民"]}]},
        {"resourceType": "Patient", "id": "p-001", "name": [{"family": "王", "given": ["小明"]}],
         "birthDate": "1980-04-02", "gender": "male",
         "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "8800137"}]},
        {"resourceType": "Encounter", "id": "enc-001", "status": "in-progress", "class": {"code": "AMB"},
         "subject": {"reference": "Patient/p-001"}},
    ]  # fmt: skip
    sandbox_services.bulk_insert([(r, now) for r in resources])
    ensure_sandbox_user(username="pr-001", fhir_user="Practitioner/pr-001", display_name="黃建民", password=None)
    tenant = Tenant.objects.create(slug="bench", name_en="Bench Hospital", name_zh_hant="測試醫院", status="active")
    with tenant_scope(tenant):
        connection = EhrConnection.objects.create(
            tenant=tenant, label="Sandbox", fhir_base_url=ehr_fhir, client_id="carelaunch-bench",
            scopes="launch openid fhirUser patient/*.rs offline_access", launch_ehr=True,
        )  # fmt: skip
    ensure_client(
        client_id="carelaunch-bench",
        name="CareLaunch bench",
        auth_method=ClientProfile.AuthMethod.NONE,
        redirect_uris=[selectors.redirect_uri_for(connection, tenant)],
    )


def timing(response: requests.Response) -> dict[str, float]:
    return {name: float(value) for name, value in TIMING.findall(response.headers.get("Server-Timing", ""))}


def one_launch(ehr: str, app: str) -> tuple[dict[str, float], dict[str, float]]:
    session = requests.Session()
    simulator = f"{ehr}/sandbox/ehr/"
    page = session.get(simulator, timeout=30)
    data = {
        "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
        "practitioner": "pr-001",
        "patient": "p-001",
        "encounter": "enc-001",
        "launch_url": f"{app}/launch",
        "need_patient_banner": "on",
    }
    response = session.post(simulator, data=data, allow_redirects=False, headers={"Referer": simulator}, timeout=30)
    launch = session.get(response.headers["Location"], allow_redirects=False, timeout=30)
    assert launch.status_code == 302, launch.text[:300]
    response = launch
    while response.status_code in (301, 302, 303):
        response = session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False, timeout=30)
    html = response.text
    form = {"csrfmiddlewaretoken": CSRF.search(html).group(1), "action": "allow",
            "scope": re.findall(r'name="scope" value="([^"]+)"', html)}  # fmt: skip
    headers = {"Referer": response.url}
    consent = session.post(response.url, data=form, allow_redirects=False, headers=headers, timeout=30)
    callback = session.get(consent.headers["Location"], allow_redirects=False, timeout=30)
    assert callback.status_code == 302 and "/app/" in callback.headers["Location"], callback.text[:300]
    return timing(launch), timing(callback)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="number of full launches")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    port = serve()
    ehr, app = f"http://localhost:{port}", f"http://127.0.0.1:{port}"
    settings.PUBLIC_URL = app
    seed(f"{ehr}/sandbox/fhir")
    rows = {"/launch": [], "callback": []}
    started = time.perf_counter()
    for _ in range(args.n):
        launch, callback = one_launch(ehr, app)
        rows["/launch"].append(launch)
        rows["callback"].append(callback)
    elapsed = time.perf_counter() - started
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"{args.n} full EHR launches against the sandbox in {elapsed:.1f} s ({engine}, in-process server)")
    print(f"{'step':<10} {'app median':>11} {'app p95':>9} {'app max':>9} {'ehr median':>11}   (ms)")
    for step, samples in rows.items():
        own = [s["app"] for s in samples]
        waited = [s["ehr"] for s in samples]
        print(f"{step:<10} {statistics.median(own):>11.2f} {pct(own, 0.95):>9.2f} {max(own):>9.2f} "
              f"{statistics.median(waited):>11.2f}")  # fmt: skip
    print("target: app p95 ≤ 50 ms for each step")


if __name__ == "__main__":
    main()
