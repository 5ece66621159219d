"""Client authentication (SMART App Launch 2.2 §client-confidential-*, §backend-services), introspection
(RFC 7662) and revocation (RFC 7009), over real HTTP; client keys served from a JWKS URL on 127.0.0.1."""

from __future__ import annotations

import uuid

import pytest
import requests
from django.test import RequestFactory
from jwcrypto import jwk

from apps.sandbox.grants import grant_for_request
from tests.sandbox.oauth.conftest import ASSERTION_TYPE, Browser, client_assertion, exchange, introspect

pytestmark = pytest.mark.django_db(transaction=True)


def _assertion_fields(assertion: str) -> dict:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}


def test_client_secret_basic(world):
    verifier, query = Browser(world).authorize(client_id="app-secret", scope="launch/patient patient/Observation.rs")
    wrong = exchange(world, code=query["code"], verifier=verifier, auth=("app-secret", "nope"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    ok = exchange(world, code=query["code"], verifier=verifier, auth=("app-secret", world.secret))
    assert ok.status_code == 200 and ok.json()["patient"] == "p-001"


def test_confidential_client_cannot_skip_authentication(world):
    verifier, query = Browser(world).authorize(client_id="app-secret", scope="launch/patient patient/Observation.rs")
    response = exchange(world, code=query["code"], verifier=verifier, client_id="app-secret")
    assert response.status_code == 401


@pytest.mark.parametrize(("client_id", "key_name"), [("app-rs384", "rsa"), ("app-es384", "ec")])
def test_private_key_jwt_rs384_and_es384(world, client_id, key_name):
    key = getattr(world, key_name)
    verifier, query = Browser(world).authorize(
        client_id=client_id, scope="openid fhirUser launch/patient patient/Observation.rs"
    )
    assertion = client_assertion(key, client_id, world.urls["token_endpoint"])
    response = exchange(world, code=query["code"], verifier=verifier, extra=_assertion_fields(assertion))
    assert response.status_code == 200, response.text
    assert response.json()["patient"] == "p-001" and response.json()["id_token"]


def _backend_token(world, assertion: str, scope: str = "system/*.rs") -> requests.Response:
    data = {"grant_type": "client_credentials", "scope": scope, **_assertion_fields(assertion)}
    return requests.post(world.urls["token_endpoint"], data=data, timeout=10)


def test_backend_services_client_credentials(world):
    response = _backend_token(world, client_assertion(world.rsa, "app-backend", world.urls["token_endpoint"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] <= 300
    assert "refresh_token" not in body and "patient" not in body
    assert body["scope"] == "system/*.rs"
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    grant = grant_for_request(request)
    assert grant is not None and grant.is_system and grant.client_id == "app-backend"


def test_backend_services_refuses_user_scopes(world):
    response = _backend_token(
        world, client_assertion(world.ec, "app-backend", world.urls["token_endpoint"]), scope="patient/*.rs"
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_reused_jti_is_refused(world):
    jti = uuid.uuid4().hex
    first = _backend_token(world, client_assertion(world.rsa, "app-backend", world.urls["token_endpoint"], jti=jti))
    assert first.status_code == 200
    again = _backend_token(world, client_assertion(world.rsa, "app-backend", world.urls["token_endpoint"], jti=jti))
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"


def test_wrong_aud_is_refused(world):
    response = _backend_token(world, client_assertion(world.rsa, "app-backend", f"{world.base}/other/token"))
    assert response.status_code == 401


@pytest.mark.parametrize(
    "case",
    ["rs256", "hs256", "none", "exp_too_far", "expired", "unknown_kid", "foreign_key", "wrong_iss"],
)
def test_bad_assertions_are_refused(world, case):
    aud = world.urls["token_endpoint"]
    if case == "rs256":
        assertion = client_assertion(world.rsa, "app-backend", aud, alg="RS256")
    elif case == "hs256":
        secret = jwk.JWK.generate(kty="oct", size=256, kid="k1")
        assertion = client_assertion(secret, "app-backend", aud, alg="HS256", kid="k1")
    elif case == "none":
        import base64
        import json
        import time

        header = json.dumps({"alg": "none", "kid": world.rsa.key_id})

        def b64(raw: str) -> str:
            return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()

        claims = json.dumps({"iss": "app-backend", "sub": "app-backend", "aud": aud, "exp": int(time.time()) + 60,
                             "jti": uuid.uuid4().hex})  # fmt: skip
        assertion = f"{b64(header)}.{b64(claims)}."
    elif case == "exp_too_far":
        assertion = client_assertion(world.rsa, "app-backend", aud, exp_in=3600)
    elif case == "expired":
        assertion = client_assertion(world.rsa, "app-backend", aud, exp_in=-120)
    elif case == "unknown_kid":
        assertion = client_assertion(world.rsa, "app-backend", aud, kid="not-a-key")
    elif case == "foreign_key":
        other = jwk.JWK.generate(kty="RSA", size=2048)
        assertion = client_assertion(other, "app-backend", aud, kid=world.rsa.key_id)
    else:
        assertion = client_assertion(world.rsa, "app-rs384", aud)
    response = _backend_token(world, assertion)
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


def test_jwks_is_cached_between_assertions(world):
    for _ in range(3):
        assert _backend_token(world, client_assertion(world.rsa, "app-backend", world.urls["token_endpoint"])).ok
    assert world.jwks.hits == 1


def test_introspection_requires_client_authentication(world):
    response = requests.post(world.urls["introspection_endpoint"], data={"token": "x"}, timeout=10)
    assert response.status_code == 401
    assert introspect(world, "not-a-token") == {"active": False}


def test_introspection_with_private_key_jwt(world):
    token = _backend_token(world, client_assertion(world.rsa, "app-backend", world.urls["token_endpoint"])).json()
    assertion = client_assertion(world.rsa, "app-backend", world.urls["introspection_endpoint"])
    response = requests.post(
        world.urls["introspection_endpoint"], data={"token": token["access_token"], **_assertion_fields(assertion)},
        timeout=10,
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["active"] is True
    assert response.json()["client_id"] == "app-backend"


def test_revocation(world):
    verifier, query = Browser(world).authorize(scope="launch/patient patient/Observation.rs offline_access")
    body = exchange(world, code=query["code"], verifier=verifier).json()
    response = requests.post(
        world.urls["revocation_endpoint"], data={"token": body["access_token"], "client_id": "app-public"}, timeout=10
    )
    assert response.status_code == 200
    assert introspect(world, body["access_token"]) == {"active": False}
    # RFC 7009 §2.1: revoking the access token also revoked its refresh token here.
    refresh = requests.post(
        world.urls["token_endpoint"],
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": "app-public"},
        timeout=10,
    )
    assert refresh.status_code == 400
    unknown = requests.post(
        world.urls["revocation_endpoint"], data={"token": "unknown", "client_id": "app-public"}, timeout=10
    )
    assert unknown.status_code == 200
