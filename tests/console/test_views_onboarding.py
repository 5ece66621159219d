from __future__ import annotations

from django.contrib.auth import get_user_model

from apps.core.models import Tenant
from apps.core.tenancy import tenant_scope
from apps.tenants.models import Membership
from tests.tenants.factories import audits


def test_signup_then_create_tenant_pending(client, db):
    response = client.post(
        "/console/signup/",
        {
            "username": "it-lead",
            "email": "it@example.org",
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/console/"
    response = client.post(
        "/console/tenants/new/", {"slug": "gamma", "name_en": "Gamma Hospital", "name_zh_hant": "丙醫院"}
    )
    assert response.status_code == 302 and response["Location"] == "/console/t/gamma/"
    tenant = Tenant.objects.get(slug="gamma")
    assert tenant.status == "pending"
    user = get_user_model().objects.get(username="it-lead")
    with tenant_scope(tenant):
        assert Membership.objects.get(tenant=tenant, user=user).role == "owner"
    assert audits(action="tenant.created", tenant=tenant)
    assert "Gamma Hospital" in client.get("/console/").content.decode()


def test_signup_errors_in_place(client, db):
    response = client.post("/console/signup/", {"username": "x", "email": "bad", "password1": "a", "password2": "b"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not get_user_model().objects.filter(username="x").exists()


def test_duplicate_slug_error_in_place(client, tenant_a, owner_a):
    client.force_login(owner_a)
    response = client.post("/console/tenants/new/", {"slug": "alpha", "name_en": "Other"})
    assert response.status_code == 200 and response.context["form"].errors["slug"]
    assert Tenant.objects.count() == 1


def test_dashboard_lists_only_my_tenants(client, tenant_a, tenant_b, owner_a):
    client.force_login(owner_a)
    body = client.get("/console/").content.decode()
    assert "Alpha Hospital" in body and "Beta Hospital" not in body


def test_signup_next_is_not_an_open_redirect(client, db):
    response = client.post(
        "/console/signup/?next=https://evil.example.org/",
        {
            "username": "u2",
            "email": "u2@example.org",
            "password1": "a-long-passphrase-42",
            "password2": "a-long-passphrase-42",
        },
    )
    assert response["Location"] == "/console/"


def test_console_needs_sign_in(client, db):
    assert client.get("/console/").status_code == 302
    assert client.get("/console/tenants/new/").status_code == 302


def test_outsider_cannot_see_other_tenants_on_dashboard_or_by_url(client, tenant_a, outsider):
    client.force_login(outsider)
    assert "Alpha Hospital" not in client.get("/console/").content.decode()
    assert client.get(f"/console/t/{tenant_a.slug}/").status_code == 404
