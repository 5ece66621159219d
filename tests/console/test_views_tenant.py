from __future__ import annotations

import pytest


def url(tenant):
    return f"/console/t/{tenant.slug}/"


def test_member_sees_tenant_overview(client, tenant_a, owner_a, connection_a):
    client.force_login(owner_a)
    response = client.get(url(tenant_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Main EHR" in body and "/t/alpha/.well-known/jwks.json" in body and "RS384" in body


def test_outsider_gets_404(client, tenant_a, outsider, connection_a):
    client.force_login(outsider)
    assert client.get(url(tenant_a)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, tenant_a):
    response = client.get(url(tenant_a))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_tenant_404(client, owner_a):
    client.force_login(owner_a)
    assert client.get("/console/t/nope/").status_code == 404


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_page_renders_in_both_languages_without_inline_script_or_style(client, tenant_a, owner_a, lang):
    client.force_login(owner_a)
    client.cookies["django_language"] = lang
    body = client.get(url(tenant_a), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert "<script>" not in body and "style=" not in body and "<style" not in body
    if lang == "zh-hant":
        assert "EHR 連線" in body
