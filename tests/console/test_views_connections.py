from __future__ import annotations

from apps.core.tenancy import tenant_scope
from apps.tenants.models import EhrConnection
from tests.tenants.factories import audits

FORM = {
    "label": "Main EHR",
    "environment": "production",
    "fhir_base_url": "https://ehr.example.org/fhir/",
    "fhir_version": "4.0.1",
    "client_id": "abc",
    "client_auth_method": "public",
    "client_secret": "",
    "scopes": "launch openid fhirUser patient/*.rs",
    "launch_ehr": "on",
    "backend_client_id": "",
    "frame_ancestors": "",
}


def base(tenant):
    return f"/console/t/{tenant.slug}/connections"


def count(tenant):
    with tenant_scope(tenant):
        return EhrConnection.objects.filter(tenant=tenant).count()


def test_owner_adds_connection(client, tenant_a, owner_a):
    client.force_login(owner_a)
    response = client.post(f"{base(tenant_a)}/new/", FORM)
    assert response.status_code == 302
    with tenant_scope(tenant_a):
        connection = EhrConnection.objects.get(tenant=tenant_a)
    assert connection.fhir_base_url == "https://ehr.example.org/fhir"
    assert response["Location"] == f"{base(tenant_a)}/{connection.pk}/"


def test_bad_url_shows_error_in_place_and_saves_nothing(client, tenant_a, owner_a):
    client.force_login(owner_a)
    response = client.post(f"{base(tenant_a)}/new/", {**FORM, "fhir_base_url": "https://u:p@ehr.example.org/fhir"})
    assert response.status_code == 200
    assert "must not contain a user name or password" in response.content.decode()
    assert response.context["form"].errors["fhir_base_url"]
    assert count(tenant_a) == 0


def test_edit_keeps_secret_and_never_shows_it(client, tenant_a, owner_a):
    client.force_login(owner_a)
    client.post(
        f"{base(tenant_a)}/new/",
        {**FORM, "client_auth_method": "client_secret_basic", "client_secret": "top-secret-value-7788"},
    )
    with tenant_scope(tenant_a):
        connection = EhrConnection.objects.get(tenant=tenant_a)
    page = client.get(f"{base(tenant_a)}/{connection.pk}/edit/").content.decode()
    assert "top-secret-value-7788" not in page and "7788" in page
    detail = client.get(f"{base(tenant_a)}/{connection.pk}/").content.decode()
    assert "top-secret-value-7788" not in detail
    client.post(
        f"{base(tenant_a)}/{connection.pk}/edit/", {**FORM, "client_auth_method": "client_secret_basic", "label": "X"}
    )
    with tenant_scope(tenant_a):
        connection.refresh_from_db()
    assert connection.label == "X" and connection.client_secret == "top-secret-value-7788"


def test_test_connection_shows_report(client, tenant_a, owner_a, ehr):
    ehr.serve_smart()
    client.force_login(owner_a)
    client.post(f"{base(tenant_a)}/new/", {**FORM, "fhir_base_url": ehr.fhir()})
    with tenant_scope(tenant_a):
        connection = EhrConnection.objects.get(tenant=tenant_a)
    body = client.post(f"{base(tenant_a)}/{connection.pk}/test/").content.decode()
    assert "Connection OK" in body
    for expected in ("auth/token", "S256", "private_key_jwt", "permission-v2", "4.0.1", "/t/alpha/callback/"):
        assert expected in body, expected
    assert audits(action="connection.tested", outcome="success")


def test_test_connection_failure_message(client, tenant_a, owner_a, ehr):
    ehr.serve_smart(token_endpoint=None)
    client.force_login(owner_a)
    client.post(f"{base(tenant_a)}/new/", {**FORM, "fhir_base_url": ehr.fhir()})
    with tenant_scope(tenant_a):
        connection = EhrConnection.objects.get(tenant=tenant_a)
    body = client.post(f"{base(tenant_a)}/{connection.pk}/test/").content.decode()
    assert "Connection test failed" in body and "no token_endpoint" in body


def test_viewer_can_look_but_every_post_is_refused(client, tenant_a, viewer_a, connection_a):
    client.force_login(viewer_a)
    assert client.get(f"{base(tenant_a)}/{connection_a.pk}/").status_code == 200
    assert client.post(f"{base(tenant_a)}/new/", FORM).status_code == 403
    assert client.post(f"{base(tenant_a)}/{connection_a.pk}/edit/", {**FORM, "label": "Hacked"}).status_code == 403
    assert client.post(f"{base(tenant_a)}/{connection_a.pk}/test/").status_code == 403
    with tenant_scope(tenant_a):
        assert EhrConnection.objects.get(pk=connection_a.pk).label == "Main EHR"
    assert count(tenant_a) == 1
    assert not audits(action__startswith="connection.")


def test_outsider_gets_404_everywhere(client, tenant_a, outsider, connection_a):
    client.force_login(outsider)
    pk = connection_a.pk
    assert client.get(f"{base(tenant_a)}/new/").status_code == 404
    assert client.post(f"{base(tenant_a)}/new/", FORM).status_code == 404
    assert client.get(f"{base(tenant_a)}/{pk}/").status_code == 404
    assert client.get(f"{base(tenant_a)}/{pk}/edit/").status_code == 404
    assert client.post(f"{base(tenant_a)}/{pk}/edit/", FORM).status_code == 404
    assert client.post(f"{base(tenant_a)}/{pk}/test/").status_code == 404


def test_connection_of_another_tenant_is_404_through_own_tenant_url(client, tenant_a, tenant_b, outsider, connection_a):
    """A member of beta cannot reach alpha's connection by putting its id under beta's URL."""
    client.force_login(outsider)
    assert client.get(f"{base(tenant_b)}/{connection_a.pk}/").status_code == 404
    assert client.post(f"{base(tenant_b)}/{connection_a.pk}/test/").status_code == 404
