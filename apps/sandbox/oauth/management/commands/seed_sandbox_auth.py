"""Create the sandbox EHR's sign-ins and the OAuth clients of the demo tenant (idempotent).

Passwords and the client secret are generated here, never committed: they are written to
settings.DATA_DIR/sandbox_logins.json and sandbox_clients.json (mode 0600).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.sandbox.oauth import directory
from apps.sandbox.oauth.models import ClientProfile
from apps.sandbox.oauth.services import ensure_client, ensure_sandbox_user

Auth = ClientProfile.AuthMethod
CLIENTS = [
    ("carelaunch-demo-public", "CareLaunch demo (public, PKCE)", Auth.NONE, False),
    ("carelaunch-demo-secret", "CareLaunch demo (client secret)", Auth.CLIENT_SECRET_BASIC, False),
    ("carelaunch-demo-rs384", "CareLaunch demo (private key JWT, RS384)", Auth.PRIVATE_KEY_JWT, False),
    ("carelaunch-demo-es384", "CareLaunch demo (private key JWT, ES384)", Auth.PRIVATE_KEY_JWT, False),
    ("carelaunch-demo-backend", "CareLaunch demo (backend services)", Auth.PRIVATE_KEY_JWT, True),
]


def _write_private(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
    os.chmod(path, 0o600)


def _read(path: Path, default: object) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


class Command(BaseCommand):
    help = "Create sandbox EHR users and the demo tenant's OAuth clients (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--redirect-uri", action="append", default=[], help="repeatable")
        parser.add_argument("--jwks-url", default="", help="JWKS URL of the private_key_jwt clients")
        parser.add_argument("--patients", type=int, default=5, help="how many patients get a sign-in")
        parser.add_argument("--rotate-secret", action="store_true")

    def handle(self, *args, **options) -> None:
        data_dir = Path(settings.DATA_DIR)
        logins_path = data_dir / "sandbox_logins.json"
        known = {row["username"]: row for row in _read(logins_path, []) if isinstance(row, dict)}
        people = [("practitioner", p) for p in directory.list_practitioners()]
        people += [("patient", p) for p in directory.search_patients("")[: max(options["patients"], 0)]]
        if not people:
            self.stderr.write("No Practitioner/Patient in the sandbox store: run seed_sandbox first.")
        logins = []
        for role, person in people:
            username = person.logical_id
            previous = known.get(username)
            password = None if previous else secrets.token_urlsafe(9)
            ensure_sandbox_user(
                username=username, fhir_user=person.reference, display_name=person.name, password=password
            )
            logins.append(
                {
                    "role": role,
                    "username": username,
                    "password": previous["password"] if previous else password,
                    "name": person.name,
                    "fhirUser": person.reference,
                }
            )
        _write_private(logins_path, logins)

        clients_path = data_dir / "sandbox_clients.json"
        stored = _read(clients_path, {})
        stored = stored if isinstance(stored, dict) else {}
        for client_id, name, method, backend in CLIENTS:
            secret = ensure_client(
                client_id=client_id,
                name=name,
                auth_method=method,
                redirect_uris=options["redirect_uri"],
                jwks_url=options["jwks_url"] if method == Auth.PRIVATE_KEY_JWT else "",
                backend=backend,
                rotate_secret=options["rotate_secret"],
            )
            entry = stored.get(client_id, {})
            entry.update({"client_id": client_id, "auth_method": str(method)})
            if secret:
                entry["client_secret"] = secret
                self.stdout.write(f"{client_id} client secret (shown once, also in {clients_path}): {secret}")
            stored[client_id] = entry
        _write_private(clients_path, stored)
        self.stdout.write(f"Sandbox: {len(logins)} sign-ins ({logins_path}), {len(CLIENTS)} clients.")
