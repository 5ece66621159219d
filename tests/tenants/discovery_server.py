"""A real HTTP server on 127.0.0.1 that plays an EHR's discovery documents (and their faults) for tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def smart_configuration(**overrides: Any) -> dict[str, Any]:
    config = {
        "issuer": "https://ehr.example.org",
        "authorization_endpoint": "auth/authorize",
        "token_endpoint": "auth/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "scopes_supported": ["openid", "fhirUser", "launch", "patient/*.rs", "offline_access"],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": ["launch-ehr", "launch-standalone", "client-public", "context-ehr-patient", "permission-v2"],
    }
    config.update(overrides)
    return {key: value for key, value in config.items() if value is not None}


def capability_statement(base: str) -> dict[str, Any]:
    return {
        "resourceType": "CapabilityStatement",
        "fhirVersion": "4.0.1",
        "rest": [
            {
                "mode": "server",
                "security": {
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": f"{base}/oauth/authorize"},
                                {"url": "token", "valueUri": f"{base}/oauth/token"},
                            ],
                        }
                    ]
                },
            }
        ],
    }


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0


class EhrServer:
    """Routes: path → Reply or callable(handler) → Reply. Records each request (path, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply | Callable[[BaseHTTPRequestHandler], Reply]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path.split("?", 1)[0])
                reply = Reply(404, {"error": "not found"}) if route is None else route
                if callable(reply):
                    reply = reply(self)
                if reply.sleep:
                    time.sleep(reply.sleep)
                body = reply.body
                content_type = "application/json"
                if isinstance(body, (dict, list)):
                    body = json.dumps(body).encode()
                elif isinstance(body, str):
                    body = body.encode()
                    content_type = "text/html"
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def fhir(self, path: str = "/fhir") -> str:
        return f"{self.base}{path}"

    def serve_smart(self, prefix: str = "/fhir", **overrides: Any) -> None:
        self.routes[f"{prefix}/.well-known/smart-configuration"] = Reply(200, smart_configuration(**overrides))
        self.routes[f"{prefix}/metadata"] = Reply(200, capability_statement(self.base + prefix))

    def start(self) -> EhrServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def running_ehr() -> Iterator[EhrServer]:
    server = EhrServer().start()
    try:
        yield server
    finally:
        server.stop()
