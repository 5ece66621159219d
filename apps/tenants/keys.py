"""Per-tenant signing keys (SMART client-confidential-asymmetric: RS384 and ES384)."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwcrypto import jwk

RSA_KEY_SIZE = 2048
PUBLIC_JWK_MEMBERS = {
    "RSA": ("kty", "n", "e"),
    "EC": ("kty", "crv", "x", "y"),
}
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def generate_key_pair(alg: str) -> tuple[str, dict, str]:
    """Return (kid, public JWK dict, private key PEM) for RS384 or ES384.

    kid is the RFC 7638 thumbprint (SHA-256, base64url) so it is stable and derived from the key itself.
    """
    if alg == "RS384":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_SIZE)
    elif alg == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    else:
        raise ValueError(f"unsupported alg {alg}")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    key = jwk.JWK.from_pem(pem.encode())
    kid = key.thumbprint()
    exported = json.loads(key.export_public())
    public = {name: exported[name] for name in PUBLIC_JWK_MEMBERS[exported["kty"]]}
    public.update({"kid": kid, "alg": alg, "use": "sig", "key_ops": ["verify"]})
    return kid, public, pem


def private_jwk(pem: str, *, kid: str, alg: str) -> jwk.JWK:
    key = jwk.JWK.from_pem(pem.encode())
    key.update(kid=kid, alg=alg, use="sig")
    return key
