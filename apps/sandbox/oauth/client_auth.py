"""Client authentication with a signed JWT (`private_key_jwt`, RFC 7523; SMART App Launch 2.2
§client-confidential-asymmetric and §backend-services).

The client's public keys come from its registered JWKS URL, fetched over HTTP with a timeout and cached;
a `kid` the cache does not know triggers one refetch (key rotation).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime

import requests
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from apps.sandbox.oauth.models import AssertionJti

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALLOWED_ALGS = ("RS384", "ES384")
MAX_LIFETIME_SECONDS = 300
CLOCK_SKEW_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5
JWKS_CACHE_SECONDS = 300
JWKS_MAX_BYTES = 64 * 1024


class AssertionError_(Exception):
    """The client assertion is not acceptable; the message is for logs, never for the client."""


def unverified_claims(assertion: str) -> dict:
    try:
        token = jws.JWS()
        token.deserialize(assertion)
        return json.loads(token.objects["payload"].decode("utf-8"))
    except (JWException, ValueError, KeyError, UnicodeDecodeError, TypeError) as exc:
        raise AssertionError_("malformed assertion") from exc


def _fetch_jwks(url: str) -> jwk.JWKSet:
    response = requests.get(url, timeout=JWKS_TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    response.raise_for_status()
    if len(response.content) > JWKS_MAX_BYTES:
        raise AssertionError_("JWKS too large")
    return jwk.JWKSet.from_json(response.text)


def _jwks(url: str, *, refresh: bool = False) -> jwk.JWKSet:
    cache_key = f"sandbox:jwks:{url}"
    cached = None if refresh else cache.get(cache_key)
    if cached is not None:
        return jwk.JWKSet.from_json(cached)
    try:
        keyset = _fetch_jwks(url)
    except (requests.RequestException, JWException, ValueError) as exc:
        raise AssertionError_(f"JWKS fetch failed: {type(exc).__name__}") from exc
    cache.set(cache_key, keyset.export(private_keys=False), JWKS_CACHE_SECONDS)
    return keyset


def verify_client_assertion(*, assertion: str, client_id: str, jwks_url: str, audiences: list[str]) -> dict:
    """Verify signature, `alg`, `iss`=`sub`=client_id, `aud`, `exp` (≤ 5 min ahead) and a fresh `jti`."""
    try:
        token = jws.JWS()
        token.deserialize(assertion)
        header = token.jose_header
    except (JWException, ValueError, TypeError) as exc:
        raise AssertionError_("malformed assertion") from exc
    if isinstance(header, list) or header.get("alg") not in ALLOWED_ALGS:
        raise AssertionError_(f"alg not allowed: {header.get('alg') if isinstance(header, dict) else '?'}")
    kid = header.get("kid")
    if not kid:
        raise AssertionError_("kid missing")
    if not jwks_url:
        raise AssertionError_("client has no JWKS URL")
    keyset = _jwks(jwks_url)
    key = keyset.get_key(kid)
    if key is None:
        keyset = _jwks(jwks_url, refresh=True)
        key = keyset.get_key(kid)
    if key is None:
        raise AssertionError_("unknown kid")
    try:
        token.verify(key, alg=header["alg"])
        claims = json.loads(token.payload.decode("utf-8"))
    except (JWException, ValueError, UnicodeDecodeError) as exc:
        raise AssertionError_("bad signature") from exc
    if not isinstance(claims, dict):
        raise AssertionError_("claims not an object")
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise AssertionError_("iss/sub mismatch")
    aud = claims.get("aud")
    aud_values = aud if isinstance(aud, list) else [aud]
    if not any(value in audiences for value in aud_values):
        raise AssertionError_("aud mismatch")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= now - CLOCK_SKEW_SECONDS:
        raise AssertionError_("expired")
    if exp > now + MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise AssertionError_("exp too far ahead")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + CLOCK_SKEW_SECONDS:
        raise AssertionError_("not yet valid")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise AssertionError_("jti missing")
    _remember_jti(client_id, jti, exp)
    return claims


def _remember_jti(client_id: str, jti: str, exp: float) -> None:
    """Replay protection: a `jti` is accepted once per client until its assertion expires."""
    AssertionJti.objects.filter(expires__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            AssertionJti.objects.create(
                client_id=client_id, jti=jti, expires=datetime.fromtimestamp(exp + CLOCK_SKEW_SECONDS, tz=UTC)
            )
    except IntegrityError as exc:
        raise AssertionError_("jti replayed") from exc
