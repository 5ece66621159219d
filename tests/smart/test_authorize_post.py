"""Checklist L3 `authorize-post` over real HTTP: CareLaunch answers the launch with a page whose form POSTs the
authorization request to the sandbox EHR (which advertises authorize-post); GET when the connection does not ask
for it, or asks but the server does not advertise it."""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.core.cache import cache

from apps.audit.models import AuditEvent
from apps.core.tenancy import all_tenants, tenant_scope
from apps.smart import discovery
from apps.smart.models import TokenGrant
from tests.smart.conftest import Browser, connect

pytestmark = pytest.mark.django_db(transaction=True)


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = self.method = ""
        self.fields: list[tuple[str, str]] = []
        self.buttons: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == "authorize-post":
            self.action, self.method = attrs.get("action", ""), attrs.get("method", "")
        elif tag == "input" and attrs.get("type") == "hidden" and self.action:
            self.fields.append((attrs["name"], attrs.get("value", "")))
        elif tag == "button" and self.action:
            self.buttons.append(attrs.get("type", ""))
        elif tag == "script":
            self.scripts.append(attrs.get("src") or "INLINE")


def parse_form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


def submit(browser: Browser, page, form: _Form):
    """What a browser does with the auto-submitted form: a form-encoded POST to its action, no Referer."""
    browser.history.append(f"POST {form.action}")
    return browser.session.post(
        urljoin(page.url, form.action),
        data=form.fields,
        allow_redirects=False,
        timeout=30,
        headers={"Origin": "null"},
    )


def hide_authorize_post(connection) -> None:
    """Fault injection: the EHR does not advertise authorize-post (the cached discovery result says so)."""
    result = discovery.get_configuration(connection, refresh=True).to_dict()
    result["configuration"]["capabilities"] = [
        c for c in result["configuration"]["capabilities"] if c != "authorize-post"
    ]
    cache.set(discovery.cache_key(connection), result, timeout=600)
    assert "authorize-post" not in discovery.get_configuration(connection).capabilities


def only_grant(tenant) -> TokenGrant:
    with tenant_scope(tenant):
        grants = list(TokenGrant.objects.all())
    assert len(grants) == 1
    return grants[0]


def test_patient_standalone_launch_with_authorize_post(ehr, app, tenant_a):
    connection = connect(tenant_a, ehr.fhir, use_authorize_post=True)
    browser = Browser(app)
    page = browser.get(f"{app.origin}/t/alpha/launch/patient")

    # CareLaunch answers with the form page, not a redirect carrying the parameters in the URL.
    assert page.status_code == 200, page.text[:500]
    assert "Location" not in page.headers
    form = parse_form(page.text)
    assert form.method == "post"
    assert form.action == f"{ehr.origin}/sandbox/oauth/authorize/"
    assert "submit" in form.buttons  # "Continue" without JavaScript
    assert form.scripts and "INLINE" not in form.scripts and any("smart/authorize-post.js" in s for s in form.scripts)
    params = dict(form.fields)
    assert params["response_type"] == "code"
    assert params["client_id"] == connection.client_id
    assert params["redirect_uri"] == f"{app.origin}/t/alpha/callback/{connection.pk}"
    assert params["aud"] == ehr.fhir
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 43
    assert "launch" not in params
    # Hardening of the page: form-action names the EHR's origin, framing only by the EHR, no Referer, no cache.
    csp = page.headers["Content-Security-Policy"]
    assert f"form-action 'self' {ehr.origin};" in csp or csp.endswith(f"form-action 'self' {ehr.origin}")
    assert f"frame-ancestors {ehr.origin}" in csp
    assert "script-src 'self'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page.headers["Cache-Control"]

    # The sandbox receives a POST (it used to answer 405) and continues to its sign-in pages.
    posted = submit(browser, page, form)
    assert posted.request.method == "POST"
    assert posted.status_code == 302
    step = urljoin(posted.url, posted.headers["Location"])
    assert "/sandbox/oauth/authorize/" in step and "state=" not in step
    response = browser.run(step, user="p-001")

    assert response.status_code == 200, response.text[:800]
    assert "/t/alpha/app/" in response.url
    assert "王小明" in response.text
    grant = only_grant(tenant_a)
    assert grant.mode == "patient" and grant.patient == "p-001"
    # No authorization request went out as a GET with the parameters in the URL.
    assert not [url for url in browser.history if "/sandbox/oauth/authorize/?" in url]
    with all_tenants():
        assert AuditEvent.objects.filter(action="smart.launch", outcome="success", tenant=tenant_a).exists()


def test_ehr_launch_with_authorize_post_echoes_launch(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir, use_authorize_post=True)
    browser = Browser(app)
    launch_url = browser.ehr_launch_url(ehr, patient="p-001", encounter="enc-001")
    page = browser.get(launch_url)
    assert page.status_code == 200, page.text[:500]
    form = parse_form(page.text)
    assert dict(form.fields)["launch"] == parse_qs(urlsplit(launch_url).query)["launch"][0]
    posted = submit(browser, page, form)
    assert posted.status_code == 302
    response = browser.run(urljoin(posted.url, posted.headers["Location"]))
    assert response.status_code == 200 and "/t/alpha/app/" in response.url, response.text[:800]
    grant = only_grant(tenant_a)
    assert grant.mode == "ehr" and grant.encounter == "enc-001"


def test_get_when_not_configured(ehr, app, tenant_a):
    connect(tenant_a, ehr.fhir)  # the sandbox advertises authorize-post, but the connection does not ask for it
    browser = Browser(app)
    first = browser.get(f"{app.origin}/t/alpha/launch/patient")
    assert first.status_code == 302
    assert first.headers["Location"].startswith(f"{ehr.origin}/sandbox/oauth/authorize/?")
    assert "form-action 'self';" in first.headers["Content-Security-Policy"]
    response = browser.run(f"{app.origin}/t/alpha/launch/patient", user="p-001")
    assert response.status_code == 200 and "/t/alpha/app/" in response.url
    assert not [url for url in browser.history if url.startswith("POST ")]


def test_get_when_configured_but_not_advertised(ehr, app, tenant_a, caplog):
    connection = connect(tenant_a, ehr.fhir, use_authorize_post=True)
    hide_authorize_post(connection)
    browser = Browser(app)
    with caplog.at_level(logging.WARNING, logger="carelaunch.smart"):
        first = browser.get(f"{app.origin}/t/alpha/launch/patient")
    assert first.status_code == 302
    assert first.headers["Location"].startswith(f"{ehr.origin}/sandbox/oauth/authorize/?")
    assert 'id="authorize-post"' not in first.text
    warnings = [r for r in caplog.records if "authorize-post" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    response = browser.run(first.headers["Location"], user="p-001")
    assert response.status_code == 200 and "/t/alpha/app/" in response.url
    assert only_grant(tenant_a).patient == "p-001"
