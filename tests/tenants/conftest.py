from __future__ import annotations

import pytest

from tests.tenants.discovery_server import running_ehr


@pytest.fixture
def ehr():
    with running_ehr() as server:
        yield server
