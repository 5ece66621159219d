"""Fixtures for the sandbox authorization server, exercised over real HTTP (pytest-django live_server)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.utils import timezone
from jwcrypto import jwk, jwt

from apps.sandbox.models import SandboxResource
from apps.sandbox.oauth.models import ClientProfile
from apps.sandbox.oauth.services import ensure_client, ensure_sandbox_user

REDIRECT_URI = "http://127.0.0.1:9/callback"
PASSWORD = "sandbox-test-pass-1"  # test fixture only
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _resource(resource_type: str, logical_id: str, body: dict, patient_id: str = "", effective=None) -> None:
    body = {"resourceType": resource_type, "id": logical_id, **body}
    SandboxResource.objects.create(
        resource_type=resource_type,
        logical_id=logical_id,
        last_updated=timezone.now(),
        patient_id=patient_id,
        effective=effective,
        text=json.dumps(body, ensure_ascii=False),
    )


def _mrn(value: str) -> dict:
    return {"type": {"coding": [{"code": "MR"}]}, "value": value}


class JwksServer:
    """Serves the test client's public keys from 127.0.0.1, as a real client's JWKS URL would."""

    def __init__(self) -> None:
        self.keys: list[jwk.JWK] = []
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps({"keys": [k.export_public(as_dict=True) for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, kty: str) -> jwk.JWK:
        key = jwk.JWK.generate(kty="RSA", size=2048) if kty == "RSA" else jwk.JWK.generate(kty="EC", crv="P-384")
        data = key.export(private_key=True, as_dict=True)
        data["kid"] = key.thumbprint()
        key = jwk.JWK(**data)
        self.keys.append(key)
        return key

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server():
    server = JwksServer()
    yield server
    server.close()


@dataclass
class World:
    base: str  # live server origin
    jwks: JwksServer
    secret: str
    rsa: jwk.JWK
    ec: jwk.JWK
    fhir: str = ""
    urls: dict = field(default_factory=dict)


@pytest.fixture
def world(live_server, jwks_server, transactional_db) -> World:
    _resource("Practitioner", "pr-001", {"name": [{"text": "黃建民"}, {"family": "Huang", "given": ["Chien-Min"]}]})
    _resource("Patient", "p-001", {"name": [{"text": "王小明"}], "identifier": [_mrn("8800137")]}, patient_id="p-001")
    _resource("Patient", "p-002", {"name": [{"text": "林雅婷"}], "identifier": [_mrn("8800274")]}, patient_id="p-002")
    _resource("Encounter", "enc-001", {"status": "finished"}, patient_id="p-001", effective=timezone.now())
    ensure_sandbox_user(username="pr-001", fhir_user="Practitioner/pr-001", display_name="黃建民", password=PASSWORD)
    ensure_sandbox_user(username="p-001", fhir_user="Patient/p-001", display_name="王小明", password=PASSWORD)
    Auth = ClientProfile.AuthMethod
    ensure_client(client_id="app-public", name="Public app", auth_method=Auth.NONE, redirect_uris=[REDIRECT_URI])
    secret = ensure_client(
        client_id="app-secret", name="Secret app", auth_method=Auth.CLIENT_SECRET_BASIC, redirect_uris=[REDIRECT_URI]
    )
    for client_id in ("app-rs384", "app-es384"):
        ensure_client(
            client_id=client_id,
            name=client_id,
            auth_method=Auth.PRIVATE_KEY_JWT,
            redirect_uris=[REDIRECT_URI],
            jwks_url=jwks_server.url,
        )
    ensure_client(
        client_id="app-backend",
        name="Backend",
        auth_method=Auth.PRIVATE_KEY_JWT,
        redirect_uris=[],
        jwks_url=jwks_server.url,
        backend=True,
    )
    rsa = jwks_server.add("RSA")
    ec = jwks_server.add("EC")
    base = live_server.url
    smart = requests.get(f"{base}/sandbox/fhir/.well-known/smart-configuration", timeout=10).json()
    return World(base=base, jwks=jwks_server, secret=secret, rsa=rsa, ec=ec, fhir=f"{base}/sandbox/fhir", urls=smart)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def client_assertion(key: jwk.JWK, client_id: str, aud: str, *, alg: str | None = None, jti: str | None = None,
                     exp_in: int = 240, kid: str | None = None) -> str:  # fmt: skip
    alg = alg or ("RS384" if key.key_type == "RSA" else "ES384")
    now = int(time.time())
    token = jwt.JWT(
        header={"alg": alg, "kid": kid or key.key_id, "typ": "JWT"},
        claims={"iss": client_id, "sub": client_id, "aud": aud, "exp": now + exp_in, "jti": jti or uuid.uuid4().hex},
    )
    token.make_signed_token(key)
    return token.serialize()


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A user agent driving the sandbox's sign-in, picker and consent pages with `requests`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.session = requests.Session()
        self.pages: list[str] = []
        self.first: requests.Response | None = None

    def _csrf(self, html: str) -> str:
        match = CSRF.search(html)
        assert match, "no CSRF token on the page"
        return match.group(1)

    def authorize(self, *, client_id: str = "app-public", scope: str, user: str | None = "p-001",
                  pick: str | None = None, untick: tuple[str, ...] = (), extra: dict | None = None,
                  deny: bool = False, method: str = "GET") -> tuple[str, dict]:  # fmt: skip
        """Runs the flow; returns (code_verifier, query of the final redirect to the app). With method="POST" the
        authorization request is a form POST (SMART `authorize-post`, no CSRF token: it comes from the client's
        origin); the sandbox's first answer is kept in `self.first`."""
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": secrets.token_urlsafe(16),
            "aud": self.world.fhir,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "nonce": "n-" + secrets.token_hex(4),
        }
        params.update(extra or {})
        params = {k: v for k, v in params.items() if v is not None}
        endpoint = self.world.urls["authorization_endpoint"]
        if method == "POST":
            response = self.session.post(endpoint, data=params, allow_redirects=False, timeout=10)
        else:
            response = self.session.get(endpoint, params=params, allow_redirects=False, timeout=10)
        self.first = response
        query = self.drive(response, user=user, pick=pick, untick=untick, deny=deny)
        query["_sent_state"] = params.get("state")
        query["_nonce"] = params.get("nonce")
        return verifier, query

    def drive(self, response, *, user: str | None, pick: str | None = None, untick: tuple[str, ...] = (),
              deny: bool = False) -> dict:  # fmt: skip
        """Follow the sandbox pages until the redirect back to the app; returns its query."""
        for _ in range(12):
            if response.status_code in (301, 302, 303):
                location = urljoin(response.url, response.headers["Location"])
                if location.startswith(REDIRECT_URI):
                    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                    query["_location"] = location
                    return query
                response = self.session.get(location, allow_redirects=False)
                continue
            html = response.text
            self.pages.append(html)
            assert response.status_code == 200, html[:500]
            if 'name="password"' in html:
                response = self.session.post(
                    response.url,
                    data={"csrfmiddlewaretoken": self._csrf(html), "username": user, "password": PASSWORD,
                          "next": re.search(r'name="next" value="([^"]+)"', html).group(1)},
                    allow_redirects=False,
                )  # fmt: skip
            elif 'value="pick"' in html:
                response = self.session.post(
                    response.url,
                    data={"csrfmiddlewaretoken": self._csrf(html), "action": "pick", "patient": pick},
                    allow_redirects=False,
                )
            elif 'value="allow"' in html:
                scopes = [s for s in re.findall(r'name="scope" value="([^"]+)"', html) if s not in untick]
                data = {"csrfmiddlewaretoken": self._csrf(html), "action": "deny" if deny else "allow"}
                response = self.session.post(response.url, data={**data, "scope": scopes}, allow_redirects=False)
            else:
                raise AssertionError(f"unexpected page: {html[:300]}")
        raise AssertionError("authorization flow did not finish")


def exchange(world: World, *, code: str, verifier: str, client_id: str = "app-public", auth=None,
             redirect_uri: str = REDIRECT_URI, extra: dict | None = None) -> requests.Response:  # fmt: skip
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    if auth is None and not (extra and "client_assertion" in extra):
        data["client_id"] = client_id
    data.update(extra or {})
    return requests.post(world.urls["token_endpoint"], data=data, auth=auth, timeout=10)


def introspect(world: World, token: str) -> dict:
    response = requests.post(
        world.urls["introspection_endpoint"], data={"token": token}, auth=("app-secret", world.secret), timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()
