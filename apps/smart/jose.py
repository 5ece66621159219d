"""JOSE for the SMART client, on jwcrypto (no home-made crypto).

- Client assertions (SMART App Launch 2.2 §client-confidential-asymmetric, RFC 7523): RS384 or ES384 with the
  tenant's key, `iss` = `sub` = client_id, `aud` = token endpoint, `exp` ≤ 5 minutes, unique `jti`, `kid`.
- id_token validation (OpenID Connect Core §3.1.3.7, SMART §scopes-and-launch-context "fhirUser"): signature
  with the issuer's JWKS, an allowlist of asymmetric algorithms matched to the key type (no `none`, no HS*
  with a public key), `iss` pinned from discovery, `aud` = client_id, `exp`, `iat`, `nonce`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from base64 import urlsafe_b64encode
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.cache import cache
from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException

from apps.smart import outbound

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_SECONDS = 240  # under the 5-minute ceiling, with room for clock skew at the EHR
ID_TOKEN_ALGS = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
}
JWKS_CACHE_SECONDS = 60 * 60
JWKS_MAX_BYTES = 256 * 1024


class IdTokenError(Exception):
    """The id_token is not acceptable; `reason` is a short code for the audit trail."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(64)
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


# --- client assertions ---------------------------------------------------------------------------------------


def choose_assertion_alg(server_algs: list[str] | None) -> str:
    preferred = [alg for alg in settings.SMART_ASSERTION_ALGS if alg in ("RS384", "ES384")] or ["RS384"]
    if server_algs:
        for alg in preferred:
            if alg in server_algs:
                return alg
    return preferred[0]


def client_assertion(*, tenant: Any, client_id: str, audience: str, alg: str) -> str:
    from apps.tenants.services import signing_key_for

    kid, key = signing_key_for(tenant, alg)
    now = int(time.time())
    token = jwt.JWT(
        header={"alg": alg, "kid": kid, "typ": "JWT"},
        claims={
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "jti": secrets.token_urlsafe(24),
        },
    )
    token.make_signed_token(key)
    return token.serialize()


# --- JWKS ------------------------------------------------------------------------------------------------------


def _fetch_json(url: str) -> dict[str, Any]:
    response = outbound.request("GET", url, headers={"Accept": "application/json"})
    if response.status_code != 200 or len(response.content) > JWKS_MAX_BYTES:
        raise IdTokenError("jwks_unavailable")
    try:
        data = response.json()
    except ValueError:
        raise IdTokenError("jwks_unavailable") from None
    if not isinstance(data, dict):
        raise IdTokenError("jwks_unavailable")
    return data


def jwks_uri_for(*, configuration: dict[str, Any], issuer: str) -> str:
    """`jwks_uri` from smart-configuration, else from the issuer's openid-configuration (OIDC Discovery §4)."""
    if configuration.get("jwks_uri"):
        return configuration["jwks_uri"]
    key = f"smart:oidc-config:{hashlib.sha256(issuer.encode()).hexdigest()}"
    uri = cache.get(key)
    if uri:
        return uri
    try:
        document = _fetch_json(urljoin(issuer.rstrip("/") + "/", ".well-known/openid-configuration"))
    except outbound.OutboundError:
        raise IdTokenError("jwks_unavailable") from None
    if document.get("issuer") != issuer or not isinstance(document.get("jwks_uri"), str):
        raise IdTokenError("openid_configuration_mismatch")
    cache.set(key, document["jwks_uri"], JWKS_CACHE_SECONDS)
    return document["jwks_uri"]


def _keyset(url: str, *, refresh: bool = False) -> jwk.JWKSet:
    key = f"smart:jwks:{hashlib.sha256(url.encode()).hexdigest()}"
    cached = None if refresh else cache.get(key)
    if cached:
        return jwk.JWKSet.from_json(cached)
    try:
        data = _fetch_json(url)
        keyset = jwk.JWKSet.from_json(json.dumps(data))
    except outbound.OutboundError:
        raise IdTokenError("jwks_unavailable") from None
    except (JWException, ValueError, TypeError):
        raise IdTokenError("jwks_invalid") from None
    cache.set(key, keyset.export(private_keys=False), JWKS_CACHE_SECONDS)
    return keyset


def _select_key(keyset: jwk.JWKSet, kid: str | None, kty: str) -> jwk.JWK | None:
    if kid:
        found = keyset.get_key(kid)
        return found if found is not None and found.get("kty") == kty else None
    candidates = [k for k in keyset if k.get("kty") == kty and k.get("use", "sig") == "sig"]
    return candidates[0] if len(candidates) == 1 else None


# --- id_token --------------------------------------------------------------------------------------------------


def validate_id_token(*, id_token: str, jwks_uri: str, issuer: str, client_id: str, nonce: str) -> dict[str, Any]:
    """Return the verified claims, or raise IdTokenError."""
    token = jws.JWS()
    try:
        token.deserialize(id_token)
        header = token.jose_header
    except (JWException, ValueError, TypeError):
        raise IdTokenError("malformed") from None
    if not isinstance(header, dict):
        raise IdTokenError("malformed")
    alg = header.get("alg")
    if alg not in ID_TOKEN_ALGS:
        # `none`, HS256 (a public key used as an HMAC secret) and anything unknown stop here.
        raise IdTokenError("alg_not_allowed")
    kty = ID_TOKEN_ALGS[alg]
    kid = header.get("kid")
    key = _select_key(_keyset(jwks_uri), kid, kty)
    if key is None:
        key = _select_key(_keyset(jwks_uri, refresh=True), kid, kty)  # the EHR may have rotated its keys
    if key is None:
        raise IdTokenError("unknown_key")
    try:
        token.verify(key, alg=alg)
        claims = json.loads(token.payload.decode("utf-8"))
    except (JWException, ValueError, UnicodeDecodeError):
        raise IdTokenError("bad_signature") from None
    if not isinstance(claims, dict):
        raise IdTokenError("malformed")
    check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce)
    return claims


def check_claims(claims: dict[str, Any], *, issuer: str, client_id: str, nonce: str) -> None:
    skew = int(settings.SMART_CLOCK_SKEW_SECONDS)
    now = time.time()
    if claims.get("iss") != issuer:
        raise IdTokenError("wrong_iss")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise IdTokenError("wrong_aud")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenError("wrong_azp")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool) or exp < now - skew:
        raise IdTokenError("expired")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or iat > now + skew:
        raise IdTokenError("bad_iat")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise IdTokenError("no_sub")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise IdTokenError("nonce_mismatch")
