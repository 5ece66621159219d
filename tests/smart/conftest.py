"""Fixtures for SMART launch tests: the sandbox EHR and CareLaunch served by one live server, reached under two
host names so each keeps its own cookies, as with a real EHR: the EHR at http://localhost:PORT, CareLaunch at
http://127.0.0.1:PORT (settings.PUBLIC_URL)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.utils import timezone

from apps.core.tenancy import tenant_scope
from apps.sandbox import services as sandbox_services
from apps.sandbox.oauth.models import ClientProfile
from apps.sandbox.oauth.services import ensure_client, ensure_sandbox_user
from apps.tenants import selectors as tenant_selectors
from apps.tenants.models import EhrConnection

PASSWORD = "smart-test-pass-1"  # test fixture only
NATIONAL_ID = "A123456789"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
AUTH_METHODS = {
    "public": (EhrConnection.ClientAuth.PUBLIC, ClientProfile.AuthMethod.NONE),
    "secret": (EhrConnection.ClientAuth.CLIENT_SECRET_BASIC, ClientProfile.AuthMethod.CLIENT_SECRET_BASIC),
    "rs384": (EhrConnection.ClientAuth.PRIVATE_KEY_JWT, ClientProfile.AuthMethod.PRIVATE_KEY_JWT),
    "es384": (EhrConnection.ClientAuth.PRIVATE_KEY_JWT, ClientProfile.AuthMethod.PRIVATE_KEY_JWT),
}


def _patient(logical_id: str, family: str, given: str, birth: str, gender: str, mrn: str, national: str = "") -> dict:
    identifiers = [{"type": {"coding": [{"code": "MR"}]}, "system": "urn:oid:hospital:mrn", "value": mrn}]
    if national:
        identifiers.append(
            {"type": {"coding": [{"code": "NNTWN"}]}, "system": "http://www.moi.gov.tw", "value": national}
        )
    return {
        "resourceType": "Patient",
        "id": logical_id,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "birthDate": birth,
        "gender": gender,
        "identifier": identifiers,
    }


@dataclass
class Ehr:
    origin: str  # http://localhost:PORT
    fhir: str  # the iss

    @property
    def simulator(self) -> str:
        return f"{self.origin}/sandbox/ehr/"


@dataclass
class App:
    origin: str  # http://127.0.0.1:PORT


@pytest.fixture
def ehr(live_server, transactional_db) -> Ehr:
    now = timezone.now()
    resources = [
        {"resourceType": "Practitioner", "id": "pr-001", "name": [{"family": "黃", "given": ["建民"]}]},
        _patient("p-001", "王", "小明", "1980-04-02", "male", "8800137", NATIONAL_ID),
        _patient("p-002", "林", "雅婷", "1992-11-20", "female", "8800274", "B234567890"),
        {
            "resourceType": "Encounter",
            "id": "enc-001",
            "status": "in-progress",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/p-001"},
        },
    ]
    sandbox_services.bulk_insert([(resource, now) for resource in resources])
    ensure_sandbox_user(username="pr-001", fhir_user="Practitioner/pr-001", display_name="黃建民", password=PASSWORD)
    ensure_sandbox_user(username="p-001", fhir_user="Patient/p-001", display_name="王小明", password=PASSWORD)
    origin = live_server.url
    assert origin.startswith("http://localhost:")
    return Ehr(origin=origin, fhir=f"{origin}/sandbox/fhir")


@pytest.fixture
def app(live_server, settings) -> App:
    origin = live_server.url.replace("http://localhost:", "http://127.0.0.1:")
    settings.PUBLIC_URL = origin
    return App(origin=origin)


def connect(tenant, ehr_base: str, *, auth: str = "public", label: str = "Sandbox", **fields) -> EhrConnection:
    """An EhrConnection of `tenant` to `ehr_base`, with a matching client registered at the sandbox."""
    connection_auth, sandbox_auth = AUTH_METHODS[auth]
    defaults = {
        "label": label,
        "fhir_base_url": ehr_base,
        "client_id": f"carelaunch-{tenant.slug}-{auth}-{label.lower()}",
        "client_auth_method": connection_auth,
        "scopes": "launch openid fhirUser patient/*.rs offline_access",
        "launch_ehr": True,
        "launch_standalone_patient": True,
        "launch_standalone_provider": True,
        "frame_ancestors": urlsplit(ehr_base)._replace(path="").geturl(),
    }
    defaults.update(fields)
    with tenant_scope(tenant):
        connection = EhrConnection.objects.create(tenant=tenant, **defaults)
    register(connection, tenant, sandbox_auth)
    return connection


def register(connection: EhrConnection, tenant, sandbox_auth: str) -> None:
    secret = ensure_client(
        client_id=connection.client_id,
        name=f"CareLaunch {connection.label}",
        auth_method=sandbox_auth,
        redirect_uris=[tenant_selectors.redirect_uri_for(connection, tenant)],
        jwks_url=tenant_selectors.jwks_url_for(tenant),
        rotate_secret=True,
    )
    if secret:
        with tenant_scope(tenant):
            connection.client_secret = secret
            connection.save(update_fields=["client_secret"])


class Browser:
    """A user agent (requests, one cookie jar per host) going through CareLaunch and the sandbox's pages."""

    def __init__(self, app: App, user_agent: str = "CareLaunch-tests/1") -> None:
        self.app = app
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.history: list[str] = []

    def get(self, url: str, **kwargs) -> requests.Response:
        self.history.append(url)
        return self.session.get(url, allow_redirects=False, timeout=30, **kwargs)

    def ehr_launch_url(self, ehr: Ehr, *, patient: str = "p-001", encounter: str = "enc-001",
                       banner: bool = True, practitioner: str = "pr-001") -> str:  # fmt: skip
        """Use the sandbox's EHR simulator to mint a `launch` value; returns CareLaunch's /launch URL."""
        page = self.session.get(ehr.simulator, timeout=30)
        data = {
            "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
            "practitioner": practitioner,
            "patient": patient,
            "encounter": encounter,
            "launch_url": f"{self.app.origin}/launch",
        }
        if banner:
            data["need_patient_banner"] = "on"
        response = self.session.post(
            ehr.simulator, data=data, allow_redirects=False, timeout=30, headers={"Referer": ehr.simulator}
        )
        assert response.status_code == 302, response.text[:500]
        return response.headers["Location"]

    def run(self, url: str, *, user: str | None = None, pick: str | None = None, untick: tuple[str, ...] = (),
            deny: bool = False, stop_at_callback: bool = False) -> requests.Response:  # fmt: skip
        """Follow redirects and drive the sandbox's sign-in, picker and consent pages until CareLaunch
        answers with a page (or, with stop_at_callback, until the EHR redirects to CareLaunch's callback)."""
        response = self.get(url)
        for _ in range(20):
            if response.status_code in (301, 302, 303):
                location = urljoin(response.url, response.headers["Location"])
                if stop_at_callback and location.startswith(self.app.origin) and "/callback/" in location:
                    return response
                response = self.get(location)
                continue
            if response.url.startswith(self.app.origin):
                return response
            html = response.text
            assert response.status_code == 200, html[:800]
            csrf = CSRF.search(html).group(1)
            headers = {"Referer": response.url}
            if 'name="password"' in html:
                next_value = re.search(r'name="next" value="([^"]+)"', html).group(1)
                data = {"csrfmiddlewaretoken": csrf, "username": user, "password": PASSWORD, "next": next_value}
                login = urljoin(response.url, re.search(r'<form method="post" action="([^"]+)"', html).group(1))
                response = self.session.post(login, data=data, allow_redirects=False, headers=headers, timeout=30)
            elif 'value="pick"' in html:
                data = {"csrfmiddlewaretoken": csrf, "action": "pick", "patient": pick}
                response = self.session.post(
                    response.url, data=data, allow_redirects=False, headers=headers, timeout=30
                )
            elif 'value="allow"' in html:
                scopes = [s for s in re.findall(r'name="scope" value="([^"]+)"', html) if s not in untick]
                data = {"csrfmiddlewaretoken": csrf, "action": "deny" if deny else "allow", "scope": scopes}
                response = self.session.post(
                    response.url, data=data, allow_redirects=False, headers=headers, timeout=30
                )
            else:
                raise AssertionError(f"unexpected EHR page: {html[:500]}")
        raise AssertionError("the launch did not finish")


def callback_query(response: requests.Response) -> tuple[str, dict[str, str]]:
    location = urljoin(response.url, response.headers["Location"])
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def error_code(response: requests.Response) -> str | None:
    match = re.search(r'data-error="([a-z_]+)"', response.text)
    return match.group(1) if match else None
