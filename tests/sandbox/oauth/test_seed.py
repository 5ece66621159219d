"""seed_sandbox_auth: idempotent, secrets generated at run time and kept 0600 under DATA_DIR."""

from __future__ import annotations

import json
import stat
from io import StringIO

import pytest
from django.core.management import call_command
from oauth2_provider.models import Application

from apps.sandbox.oauth.models import ClientProfile, SandboxUser

pytestmark = pytest.mark.django_db


def test_seed_sandbox_auth_is_idempotent(settings, tmp_path, sandbox_data):
    settings.DATA_DIR = tmp_path
    out = StringIO()
    args = ["--redirect-uri", "http://127.0.0.1:8000/callback", "--jwks-url", "http://127.0.0.1:8000/jwks.json"]
    call_command("seed_sandbox_auth", *args, stdout=out)
    assert "carelaunch-demo-secret client secret" in out.getvalue()
    clients = json.loads((tmp_path / "sandbox_clients.json").read_text())
    logins = json.loads((tmp_path / "sandbox_logins.json").read_text())
    for path in ("sandbox_clients.json", "sandbox_logins.json"):
        assert stat.S_IMODE((tmp_path / path).stat().st_mode) == 0o600
    secret = clients["carelaunch-demo-secret"]["client_secret"]
    assert Application.objects.get(client_id="carelaunch-demo-secret").client_secret != secret  # hashed at rest
    assert ClientProfile.objects.get(application__client_id="carelaunch-demo-es384").jwks_url.endswith("jwks.json")
    assert Application.objects.get(client_id="carelaunch-demo-backend").authorization_grant_type == "client-credentials"
    assert {row["username"] for row in logins} >= {"pr-001", "p-001"}

    again = StringIO()
    call_command("seed_sandbox_auth", *args, stdout=again)
    assert "client secret" not in again.getvalue()
    assert (
        json.loads((tmp_path / "sandbox_clients.json").read_text())["carelaunch-demo-secret"]["client_secret"] == secret
    )
    assert json.loads((tmp_path / "sandbox_logins.json").read_text()) == logins
    assert Application.objects.filter(client_id__startswith="carelaunch-demo-").count() == 5
    assert SandboxUser.objects.count() == len(logins)
    user = SandboxUser.objects.get(fhir_user="Practitioner/pr-001").user
    assert user.check_password(next(r["password"] for r in logins if r["username"] == "pr-001"))


def test_login_page_lists_demo_logins_only_when_enabled(settings, tmp_path, client):
    settings.DATA_DIR = tmp_path
    (tmp_path / "sandbox_logins.json").write_text(json.dumps([{"role": "patient", "username": "p-009",
                                                               "password": "pw-shown", "name": "N"}]))  # fmt: skip
    settings.SANDBOX_SHOW_LOGINS = False
    assert "pw-shown" not in client.get("/sandbox/login/").content.decode()
    settings.SANDBOX_SHOW_LOGINS = True
    assert "pw-shown" in client.get("/sandbox/login/").content.decode()
