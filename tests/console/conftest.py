from __future__ import annotations

import pytest

from apps.tenants import services
from tests.tenants.discovery_server import running_ehr
from tests.tenants.factories import make_connection, make_member


@pytest.fixture
def ehr():
    with running_ehr() as server:
        yield server


@pytest.fixture
def owner_a(tenant_a):
    return make_member(tenant_a, "owner-a", "owner")


@pytest.fixture
def viewer_a(tenant_a):
    return make_member(tenant_a, "viewer-a", "viewer")


@pytest.fixture
def outsider(tenant_b):
    """A signed-in owner of ANOTHER tenant."""
    return make_member(tenant_b, "owner-b", "owner")


@pytest.fixture
def connection_a(tenant_a):
    services.ensure_keys(tenant=tenant_a)
    return make_connection(tenant_a, fhir_base_url="https://ehr-alpha.example.org/fhir")
