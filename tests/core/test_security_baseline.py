"""Security baseline: headers on every response, production settings, secrets kept outside git."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings.env import persistent_secret

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_every_response_carries_the_security_headers(client):
    response = client.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_anonymous_public_pages_may_be_cached_but_signed_in_ones_may_not(client, django_user_model):
    assert "no-store" not in client.get("/").get("Cache-Control", "")
    user = django_user_model.objects.create_user("it", "it@example.org", "a long password 1234")
    client.force_login(user)
    assert "no-store" in client.get("/")["Cache-Control"]


def _production_settings(extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({k: getattr(settings, k) for k in ["
        "'DEBUG','SECURE_HSTS_SECONDS','SECURE_HSTS_INCLUDE_SUBDOMAINS','SESSION_COOKIE_SECURE',"
        "'CSRF_COOKIE_SECURE','SECURE_SSL_REDIRECT','SANDBOX_ENABLED','SESSION_COOKIE_HTTPONLY']}))"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "test-only-" + "x" * 60,
        "CARELAUNCH_ENCRYPTION_KEYS": "Zm9vYmFyYmF6cXV4cXV1eGZvb2JhcmJhenF1eHF1dXg=",
        "DATABASE_URL": "sqlite:///:memory:",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CARELAUNCH_DATA_DIR": "/nonexistent-carelaunch-data-dir",
        **(extra_env or {}),
    }
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_production_settings_are_hardened():
    result = _production_settings()
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SANDBOX_ENABLED"] is False
    assert values["SESSION_COOKIE_HTTPONLY"] is True


def test_production_refuses_to_start_without_secrets_from_the_environment():
    result = _production_settings({"DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in result.stderr


def test_embedded_mode_generates_its_secret_once_and_keeps_it_private(tmp_path, monkeypatch):
    monkeypatch.delenv("CARELAUNCH_TEST_SECRET", raising=False)
    first = persistent_secret("CARELAUNCH_TEST_SECRET", tmp_path, lambda: "generated-value")
    second = persistent_secret("CARELAUNCH_TEST_SECRET", tmp_path, lambda: "another-value")
    assert first == second == "generated-value"
    mode = stat.S_IMODE((tmp_path / "carelaunch_test_secret").stat().st_mode)
    assert mode == 0o600
    monkeypatch.setenv("CARELAUNCH_TEST_SECRET", "from-the-environment")
    assert persistent_secret("CARELAUNCH_TEST_SECRET", tmp_path, lambda: "unused") == "from-the-environment"


def test_the_data_directory_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "var/" in ignored
    assert "*.sqlite3" in ignored
