"""The per-connection authorize-post switch (checklist L3): stored, set from manage.py, reported by test_connection."""

from __future__ import annotations

import json

from apps.tenants import selectors
from apps.tenants.models import EhrConnection
from tests.tenants.discovery_server import smart_configuration
from tests.tenants.test_commands import run

ADVERTISED = [*smart_configuration()["capabilities"], "authorize-post"]


def test_off_by_default():
    assert EhrConnection._meta.get_field("use_authorize_post").default is False


def test_add_connection_turns_authorize_post_on_and_off(tenant_a):
    base = ["add_connection", "alpha", "--label", "Main"]
    run(*base, "--fhir-base-url", "https://ehr.example.org/fhir", "--client-id", "abc")
    assert selectors.get_connection_by_label(tenant_a, "Main").use_authorize_post is False
    run(*base, "--authorize-post")
    assert selectors.get_connection_by_label(tenant_a, "Main").use_authorize_post is True
    run(*base, "--scopes", "launch openid")  # not named: unchanged
    assert selectors.get_connection_by_label(tenant_a, "Main").use_authorize_post is True
    run(*base, "--no-authorize-post")
    assert selectors.get_connection_by_label(tenant_a, "Main").use_authorize_post is False


def test_test_connection_reports_authorize_post_when_advertised(tenant_a, ehr):
    ehr.serve_smart(capabilities=ADVERTISED)
    run("add_connection", "alpha", "--label", "Main", "--fhir-base-url", ehr.fhir(), "--client-id", "abc")
    assert "authorize-post: advertised, not turned on" in run("test_connection", "alpha", "Main")
    run("add_connection", "alpha", "--label", "Main", "--authorize-post")
    assert "authorize-post: advertised, in use" in run("test_connection", "alpha", "Main")
    report = json.loads(run("test_connection", "alpha", "Main", "--json"))
    assert report["authorize_post"] == {"advertised": True, "enabled": True}


def test_test_connection_warns_when_turned_on_but_not_advertised(tenant_a, ehr):
    ehr.serve_smart()
    run("add_connection", "alpha", "--label", "Main", "--fhir-base-url", ehr.fhir(), "--client-id", "abc",
        "--authorize-post")  # fmt: skip
    out = run("test_connection", "alpha", "Main")
    assert "authorize-post is turned on but not advertised" in out
    assert "authorize-post: advertised" not in out
    report = json.loads(run("test_connection", "alpha", "Main", "--json"))
    assert report["authorize_post"] == {"advertised": False, "enabled": True}
