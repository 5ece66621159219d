"""Fixtures for the sandbox EHR's FHIR API, exercised over real HTTP (pytest-django live_server).

Nothing here is autouse: tests/sandbox/oauth/ has its own fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from apps.sandbox import services
from apps.sandbox.data.generator import generate
from apps.sandbox.grants import issue_grant

FHIR_JSON = "application/fhir+json"
HEAVY = "p-h01"
HEAVY_OBSERVATIONS = 450


@pytest.fixture
def sandbox_data(transactional_db):
    """A small deterministic dataset: 4 patients with history plus one heavy patient."""
    dataset = generate(patients=4, heavy=1, heavy_observations=HEAVY_OBSERVATIONS)
    services.bulk_insert(dataset.resources)
    return dataset


@dataclass
class Fhir:
    base: str

    def token(self, scopes: str, *, patient_id: str | None = None, is_system: bool = False,
              client_id: str = "test-app", fhir_user: str | None = None, expires_in: int = 3600) -> str:  # fmt: skip
        return issue_grant(client_id=client_id, scopes=scopes, patient_id=patient_id, fhir_user=fhir_user,
                           is_system=is_system, expires_in=expires_in)  # fmt: skip

    def get(self, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Accept": FHIR_JSON, **kwargs.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = path if path.startswith("http") else self.base + path
        return requests.get(url, headers=headers, timeout=30, **kwargs)

    def post(self, path: str, body, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Accept": FHIR_JSON, "Content-Type": FHIR_JSON, **kwargs.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = body if isinstance(body, str | bytes) else __import__("json").dumps(body)
        return requests.post(self.base + path, data=data, headers=headers, timeout=30, **kwargs)

    def delete(self, url: str, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.delete(url, headers=headers, timeout=30)

    def all_pages(self, path: str, token: str) -> tuple[list[dict], list[dict]]:
        """Follow Bundle.link next to the end; returns (entries, bundles)."""
        entries, bundles = [], []
        url = self.base + path
        while url:
            response = self.get(url, token)
            assert response.status_code == 200, response.text
            bundle = response.json()
            bundles.append(bundle)
            entries.extend(bundle.get("entry", []))
            url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
            assert len(bundles) < 100, "paging does not terminate"
        return entries, bundles


@pytest.fixture
def fhir(live_server, sandbox_data) -> Fhir:
    return Fhir(base=f"{live_server.url}/sandbox/fhir/")


@pytest.fixture
def bulk_env(settings, tmp_path):
    """Bulk files under a temporary directory; the export task runs in-process even when Redis is configured."""
    from config.celery import app as celery_app

    settings.SANDBOX_BULK_DIR = tmp_path / "bulk"
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield tmp_path / "bulk"
    celery_app.conf.task_always_eager = previous
