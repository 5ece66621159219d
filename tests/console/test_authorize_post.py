"""The console's connection form sets authorize-post; the test-connection report says whether the EHR offers it."""

from __future__ import annotations

import re

from apps.core.tenancy import tenant_scope
from apps.tenants.models import EhrConnection
from tests.console.test_views_connections import FORM, base
from tests.tenants.discovery_server import smart_configuration


def _connection(tenant):
    with tenant_scope(tenant):
        return EhrConnection.objects.get(tenant=tenant)


def test_form_sets_and_clears_authorize_post(client, tenant_a, owner_a):
    client.force_login(owner_a)
    page = client.get(f"{base(tenant_a)}/new/").content.decode()
    assert 'name="use_authorize_post"' in page
    client.post(f"{base(tenant_a)}/new/", {**FORM, "use_authorize_post": "on"})
    connection = _connection(tenant_a)
    assert connection.use_authorize_post is True
    edit = client.get(f"{base(tenant_a)}/{connection.pk}/edit/")
    assert edit.context["form"].initial["use_authorize_post"] is True
    assert re.search(r'<input type="checkbox" name="use_authorize_post"[^>]* checked', edit.content.decode())
    client.post(f"{base(tenant_a)}/{connection.pk}/edit/", FORM)  # unticked checkbox: off
    assert _connection(tenant_a).use_authorize_post is False


def test_report_shows_authorize_post_when_advertised(client, tenant_a, owner_a, ehr):
    ehr.serve_smart(capabilities=[*smart_configuration()["capabilities"], "authorize-post"])
    client.force_login(owner_a)
    client.post(f"{base(tenant_a)}/new/", {**FORM, "fhir_base_url": ehr.fhir()})
    connection = _connection(tenant_a)
    body = client.post(f"{base(tenant_a)}/{connection.pk}/test/").content.decode()
    assert 'id="authorize-post"' in body and "Turn on" in body
    client.post(
        f"{base(tenant_a)}/{connection.pk}/edit/", {**FORM, "fhir_base_url": ehr.fhir(), "use_authorize_post": "on"}
    )
    body = client.post(f"{base(tenant_a)}/{connection.pk}/test/").content.decode()
    assert "CareLaunch sends the authorization request as a POST" in body


def test_report_silent_when_not_advertised_and_off(client, tenant_a, owner_a, ehr):
    ehr.serve_smart()
    client.force_login(owner_a)
    client.post(f"{base(tenant_a)}/new/", {**FORM, "fhir_base_url": ehr.fhir()})
    connection = _connection(tenant_a)
    body = client.post(f"{base(tenant_a)}/{connection.pk}/test/").content.decode()
    assert "Connection OK" in body and 'id="authorize-post"' not in body
    client.post(
        f"{base(tenant_a)}/{connection.pk}/edit/", {**FORM, "fhir_base_url": ehr.fhir(), "use_authorize_post": "on"}
    )
    body = client.post(f"{base(tenant_a)}/{connection.pk}/test/").content.decode()
    assert "turned on but the server does not advertise it" in body
