"""Per-tenant keys and the public JWKS (SMART checklist B2)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from jwcrypto import jwk, jws

from apps.core.tenancy import tenant_scope
from apps.tenants import services
from apps.tenants.models import TenantKey
from tests.tenants.factories import audits, make_member

PRIVATE = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture
def tenant_keys(tenant_a):
    services.ensure_keys(tenant=tenant_a)
    return tenant_a


def jwks_url(tenant):
    return f"/t/{tenant.slug}/.well-known/jwks.json"


def fetch_jwks(client, tenant):
    response = client.get(jwks_url(tenant))
    assert response.status_code == 200
    return response, json.loads(response.content)


def sign(tenant, alg: str) -> str:
    kid, private = services.signing_key_for(tenant, alg)
    token = jws.JWS(b'{"iss":"client","sub":"client","aud":"https://ehr/token","jti":"1"}')
    token.add_signature(private, alg=alg, protected=json.dumps({"alg": alg, "kid": kid}))
    return token.serialize(compact=True)


def verify_against(jwks_doc: dict, compact: str) -> bool:
    keyset = jwk.JWKSet.from_json(json.dumps(jwks_doc))
    token = jws.JWS()
    token.deserialize(compact)
    kid = token.jose_header["kid"]
    key = keyset.get_key(kid)
    if key is None:
        return False
    token.verify(key, alg=token.jose_header["alg"])
    return True


def test_keys_rs384_and_es384_with_rfc7638_kids(tenant_keys):
    with tenant_scope(tenant_keys):
        keys = list(TenantKey.objects.filter(tenant=tenant_keys, state="active"))
    assert sorted(key.alg for key in keys) == ["ES384", "RS384"]
    for key in keys:
        public = jwk.JWK(**key.public_jwk)
        assert key.kid == public.thumbprint()
        if key.alg == "RS384":
            assert key.public_jwk["kty"] == "RSA" and public.get_op_key("verify").key_size >= 2048
        else:
            assert key.public_jwk["kty"] == "EC" and key.public_jwk["crv"] == "P-384"


def test_private_key_is_encrypted_at_rest(tenant_keys):
    from django.db import connection

    with tenant_scope(tenant_keys), connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM tenants_tenantkey")
        stored = [row[0] for row in cursor.fetchall()]
    assert stored and all("PRIVATE KEY" not in value for value in stored)


def test_jwks_is_public_has_no_private_members_and_cache_control(client, tenant_keys):
    response, doc = fetch_jwks(client, tenant_keys)
    assert len(doc["keys"]) == 2
    for key in doc["keys"]:
        assert not PRIVATE & set(key)
        assert key["kid"] and key["alg"] in {"RS384", "ES384"} and key["use"] == "sig"
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert response["Content-Type"].startswith("application/jwk-set+json")


def test_signature_with_each_active_key_verifies_against_published_jwks(client, tenant_keys):
    _, doc = fetch_jwks(client, tenant_keys)
    for alg in ("RS384", "ES384"):
        assert verify_against(doc, sign(tenant_keys, alg))


def test_rotation_keeps_old_key_for_overlap_then_it_disappears(client, tenant_keys, settings):
    settings.TENANT_KEY_ROTATION_OVERLAP = 3600
    old_tokens = {alg: sign(tenant_keys, alg) for alg in ("RS384", "ES384")}
    services.rotate_keys(tenant=tenant_keys, actor="test")
    _, doc = fetch_jwks(client, tenant_keys)
    assert len(doc["keys"]) == 4
    for alg, token in old_tokens.items():
        assert verify_against(doc, token), alg
        assert verify_against(doc, sign(tenant_keys, alg))
    old = jws.JWS()
    old.deserialize(old_tokens["RS384"])
    assert services.signing_key_for(tenant_keys, "RS384")[0] != old.jose_header["kid"]
    with tenant_scope(tenant_keys):
        assert TenantKey.objects.filter(tenant=tenant_keys, state="retiring").count() == 2
        # Time passes beyond the overlap.
        TenantKey.objects.filter(tenant=tenant_keys, state="retiring").update(
            retiring_at=timezone.now() - timedelta(seconds=3601)
        )
    _, doc = fetch_jwks(client, tenant_keys)
    assert len(doc["keys"]) == 2  # hidden at once, before any job ran
    for token in old_tokens.values():
        assert not verify_against(doc, token)
    assert services.retire_expired_keys(tenant=tenant_keys) == 2
    with tenant_scope(tenant_keys):
        assert TenantKey.objects.filter(tenant=tenant_keys, state="retired").count() == 2
    assert audits(action="tenant.keys_rotated", tenant=tenant_keys)


def test_signing_key_for_returns_the_newest_active_key(tenant_keys):
    before, _ = services.signing_key_for(tenant_keys, "ES384")
    services.rotate_keys(tenant=tenant_keys)
    after, private = services.signing_key_for(tenant_keys, "ES384")
    assert before != after
    assert private.has_private and private.get("kid") == after


def test_jwks_served_for_pending_tenant_and_404_for_suspended_or_unknown(client, tenant_keys):
    tenant_keys.status = "pending"
    tenant_keys.save()
    assert client.get(jwks_url(tenant_keys)).status_code == 200
    tenant_keys.status = "suspended"
    tenant_keys.save()
    assert client.get(jwks_url(tenant_keys)).status_code == 404
    assert client.get("/t/no-such-tenant/.well-known/jwks.json").status_code == 404


def test_jwks_shows_only_its_own_tenant_keys(client, tenant_keys, tenant_b):
    services.ensure_keys(tenant=tenant_b)
    _, doc_a = fetch_jwks(client, tenant_keys)
    _, doc_b = fetch_jwks(client, tenant_b)
    assert not {k["kid"] for k in doc_a["keys"]} & {k["kid"] for k in doc_b["keys"]}


def test_jwks_needs_no_sign_in_even_for_a_member(client, tenant_keys):
    user = make_member(tenant_keys, "it-admin")
    client.force_login(user)
    assert client.get(jwks_url(tenant_keys)).status_code == 200
