"""Production: PostgreSQL, Redis, Celery worker + beat, behind TLS. Secrets must come from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import *  # noqa: F403
from config.settings.env import env_bool, env_int, env_str

for _required in ("DJANGO_SECRET_KEY", "CARELAUNCH_ENCRYPTION_KEYS", "DATABASE_URL", "REDIS_URL"):
    if not os.environ.get(_required):
        raise ImproperlyConfigured(f"{_required} must be set in production")

DEBUG = False
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", False)

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# The load balancer probes these over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)

# Hospital onboarding: HTTPS-only FHIR base URLs and no loopback targets for discovery in production.
ALLOW_INSECURE_LOOPBACK_FHIR = env_bool("ALLOW_INSECURE_LOOPBACK_FHIR", False)
DISCOVERY_ALLOW_LOOPBACK = env_bool("DISCOVERY_ALLOW_LOOPBACK", False)

# The sandbox authorization server, if someone turns it on in production, follows the OAuth 2.0 Security
# BCP (RFC 9700) to the letter: tokens only in headers, the RFC 9207 `iss` response parameter, https only.
OAUTH2_PROVIDER = {
    **OAUTH2_PROVIDER,  # noqa: F405
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
}

# A sandbox switched on in production must not sign tokens with a key generated on one container's disk.
if SANDBOX_ENABLED and not os.environ.get("SANDBOX_OIDC_RSA_PRIVATE_KEY"):
    raise ImproperlyConfigured("SANDBOX_OIDC_RSA_PRIVATE_KEY must be set when SANDBOX_ENABLED in production")
