"""The management commands hospital IT scripts rely on (names and exit codes are an interface)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import Tenant
from apps.core.tenancy import tenant_scope
from apps.tenants import selectors
from apps.tenants.models import EhrConnection, Membership, TenantKey
from tests.tenants.factories import audits, make_user


def run(*args, **kwargs) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


def test_create_tenant_pending_then_activate(db):
    owner = make_user("it-lead")
    out = json.loads(
        run("create_tenant", "gamma", "--name-en", "Gamma Hospital", "--name-zh-hant", "丙醫院", "--owner", "it-lead")
    )
    assert out == {"slug": "gamma", "status": "pending"}
    tenant = Tenant.objects.get(slug="gamma")
    with tenant_scope(tenant):
        assert Membership.objects.get(tenant=tenant).user == owner
        assert TenantKey.objects.filter(tenant=tenant).count() == 2
    out = json.loads(run("create_tenant", "delta", "--name-en", "Delta", "--activate"))
    assert out["status"] == "active"


def test_create_tenant_errors(db):
    run("create_tenant", "gamma", "--name-en", "Gamma")
    with pytest.raises(CommandError, match="already exists"):
        run("create_tenant", "gamma", "--name-en", "Gamma")
    with pytest.raises(CommandError, match="Invalid slug"):
        run("create_tenant", "Bad Slug!", "--name-en", "X")
    with pytest.raises(CommandError, match="No user"):
        run("create_tenant", "eps", "--name-en", "X", "--owner", "nobody")


def test_add_connection_creates_then_updates_by_label(tenant_a, monkeypatch):
    out = json.loads(
        run(
            "add_connection",
            "alpha",
            "--label",
            "Main",
            "--fhir-base-url",
            "https://ehr.example.org/fhir/",
            "--client-id",
            "abc",
            "--launch-modes",
            "ehr,patient,backend",
            "--backend-client-id",
            "sys",
        )
    )
    assert out["created"] is True and out["fhir_base_url"] == "https://ehr.example.org/fhir"
    monkeypatch.setenv("EHR_SECRET", "very-secret-value-9876")
    out = json.loads(
        run(
            "add_connection",
            "alpha",
            "--label",
            "Main",
            "--client-auth",
            "client_secret_basic",
            "--client-secret-env",
            "EHR_SECRET",
            "--scopes",
            "launch openid fhirUser",
        )
    )
    assert out["created"] is False
    connection = selectors.get_connection_by_label(tenant_a, "Main")
    assert connection.client_id == "abc"  # untouched
    assert connection.client_secret == "very-secret-value-9876"
    assert connection.launch_modes == ["ehr", "patient", "backend"]
    assert connection.scopes == "launch openid fhirUser"
    with tenant_scope(tenant_a):
        assert EhrConnection.objects.count() == 1
    assert audits(action="connection.changed")


def test_add_connection_validation_errors_exit_nonzero_and_save_nothing(tenant_a):
    with pytest.raises(CommandError, match="fhir_base_url"):
        run(
            "add_connection",
            "alpha",
            "--label",
            "Main",
            "--fhir-base-url",
            "http://ehr.example.org/fhir",
            "--client-id",
            "abc",
        )
    with pytest.raises(CommandError, match="required"):
        run("add_connection", "alpha", "--label", "Main", "--client-id", "abc")
    with pytest.raises(CommandError, match="Unknown launch mode"):
        run(
            "add_connection",
            "alpha",
            "--label",
            "Main",
            "--fhir-base-url",
            "https://e.example.org",
            "--client-id",
            "abc",
            "--launch-modes",
            "ehr,magic",
        )
    with pytest.raises(CommandError, match="No tenant"):
        run("add_connection", "nope", "--label", "Main")
    with tenant_scope(tenant_a):
        assert EhrConnection.objects.count() == 0


def test_test_connection_prints_report(tenant_a, ehr):
    ehr.serve_smart()
    run("add_connection", "alpha", "--label", "Main", "--fhir-base-url", ehr.fhir(), "--client-id", "abc")
    out = run("test_connection", "alpha", "Main")
    assert "Connection OK" in out and "token_endpoint" in out and "S256" in out and "4.0.1" in out
    report = json.loads(run("test_connection", "alpha", "Main", "--json"))
    assert report["ok"] is True and report["code_challenge_methods_supported"] == ["S256"]


def test_test_connection_exits_nonzero_on_failure(tenant_a, ehr):
    ehr.serve_smart(token_endpoint=None)
    run("add_connection", "alpha", "--label", "Main", "--fhir-base-url", ehr.fhir(), "--client-id", "abc")
    with pytest.raises(CommandError, match="no_token_endpoint"):
        run("test_connection", "alpha", "Main")
    with pytest.raises(SystemExit) as info:
        _run_as_script("test_connection", "alpha", "Main")
    assert info.value.code == 1


def _run_as_script(*argv: str) -> None:
    """As a shell script runs it: manage.py semantics, where a CommandError becomes exit status 1."""
    from django.core.management import ManagementUtility

    ManagementUtility(["manage.py", *argv]).execute()


def test_rotate_keys(tenant_a):
    from apps.tenants import services

    services.ensure_keys(tenant=tenant_a)
    out = json.loads(run("rotate_keys", "alpha"))
    assert {key["alg"] for key in out["active"]} == {"RS384", "ES384"}
    assert len(selectors.jwks_for_tenant(tenant_a)["keys"]) == 4
    assert audits(action="tenant.keys_rotated")


def test_registration_info_prints_json(tenant_a, settings):
    settings.PUBLIC_URL = "https://carelaunch.example.com"
    run(
        "add_connection",
        "alpha",
        "--label",
        "Main",
        "--fhir-base-url",
        "https://ehr.example.org/fhir",
        "--client-id",
        "abc",
        "--client-auth",
        "private_key_jwt",
    )
    info = json.loads(run("registration_info", "alpha"))
    connection = selectors.get_connection_by_label(tenant_a, "Main")
    assert info["launch_url"] == "https://carelaunch.example.com/launch"
    assert info["jwks_url"] == "https://carelaunch.example.com/t/alpha/.well-known/jwks.json"
    entry = info["connections"][0]
    assert entry["redirect_uri"] == f"https://carelaunch.example.com/t/alpha/callback/{connection.pk}"
    assert entry["scopes"] and entry["jwks_url"] == info["jwks_url"]
    assert json.loads(run("registration_info", "alpha", "--connection", "Main"))["connections"]
    with pytest.raises(CommandError):
        run("registration_info", "alpha", "--connection", "Other")
