"""The sandbox's id_token signing key (RS256).

Production: the PEM comes from the environment (SANDBOX_OIDC_RSA_PRIVATE_KEY). Embedded mode: generated on
first run and kept under settings.DATA_DIR, created 0600, like config.settings.env.persistent_secret; never
committed.
"""

from __future__ import annotations

from django.conf import settings

from config.settings.env import persistent_secret


def new_rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def ensure_signing_key() -> None:
    """Fill OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] when the sandbox is on and no key came from the environment."""
    provider = getattr(settings, "OAUTH2_PROVIDER", None)
    if not settings.SANDBOX_ENABLED or provider is None or provider.get("OIDC_RSA_PRIVATE_KEY"):
        return
    provider["OIDC_RSA_PRIVATE_KEY"] = persistent_secret("SANDBOX_OIDC_RSA_PRIVATE_KEY", settings.DATA_DIR, new_rsa_pem)
    from oauth2_provider.settings import oauth2_settings

    oauth2_settings.reload()


def public_jwks() -> dict:
    from jwcrypto import jwk
    from oauth2_provider.settings import oauth2_settings

    key = jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode())
    public = key.export_public(as_dict=True)
    public.update({"use": "sig", "alg": "RS256", "kid": key.thumbprint()})
    return {"keys": [public]}
