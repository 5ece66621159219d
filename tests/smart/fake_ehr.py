"""A small EHR on 127.0.0.1 for fault injection: smart-configuration, token, JWKS and revocation endpoints whose
answers each test chooses (forged id_tokens, token errors), and a count of every request it received."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jwcrypto import jwk, jwt


class FakeEhr:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], dict[str, list[str]]]] = []
        self.key = jwk.JWK.generate(kty="RSA", size=2048, kid="ehr-key-1", alg="RS256", use="sig")
        self.token_reply: Callable[[dict[str, list[str]]], tuple[int, dict[str, Any]]] = lambda form: (
            500,
            {"error": "not_configured"},
        )
        self.config_overrides: dict[str, Any] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                outer._record("GET", self.path, dict(self.headers), {})
                path = urlsplit(self.path).path
                if path == "/fhir/.well-known/smart-configuration":
                    self._reply(200, outer.configuration())
                elif path == "/jwks":
                    self._reply(200, {"keys": [outer.key.export_public(as_dict=True)]})
                elif path == "/fhir/metadata":
                    self._reply(200, {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"})
                else:
                    self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                outer._record("POST", self.path, dict(self.headers), form)
                if urlsplit(self.path).path == "/token":
                    status, body = outer.token_reply(form)
                    self._reply(status, body)
                elif urlsplit(self.path).path == "/revoke":
                    self._reply(200, {})
                else:
                    self._reply(404, {"error": "not found"})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.fhir = f"{self.base}/fhir"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _record(self, method: str, path: str, headers: dict[str, str], form: dict[str, list[str]]) -> None:
        with self.lock:
            self.requests.append((method, path, headers, form))

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for _m, p, _h, _f in self.requests if path is None or urlsplit(p).path == path)

    def configuration(self) -> dict[str, Any]:
        config = {
            "issuer": self.fhir,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "revocation_endpoint": f"{self.base}/revoke",
            "jwks_uri": f"{self.base}/jwks",
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["launch-ehr", "launch-standalone", "client-public", "permission-v2", "sso-openid-connect"],
        }
        config.update(self.config_overrides)
        return config

    def id_token(self, *, nonce: str, client_id: str, key: jwk.JWK | None = None, header: dict | None = None,
                 **claims: Any) -> str:  # fmt: skip
        now = int(time.time())
        body = {
            "iss": self.fhir,
            "sub": "user-1",
            "aud": client_id,
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "fhirUser": "Practitioner/pr-9",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        token = jwt.JWT(header=header or {"alg": "RS256", "kid": "ehr-key-1"}, claims=body)
        token.make_signed_token(key or self.key)
        return token.serialize()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
