"""Settings shared by every run mode. Each value comes from the environment; defaults run the embedded mode."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.settings.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    new_django_secret,
    new_fernet_key,
    persistent_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("CARELAUNCH_DATA_DIR", str(BASE_DIR / "var")))

SECRET_KEY = persistent_secret("DJANGO_SECRET_KEY", DATA_DIR, new_django_secret)
# Fernet keys for secrets at rest (tokens, client secrets, private keys). Comma-separated: the first
# encrypts, all decrypt, so keys can be rotated without a flag day.
ENCRYPTION_KEYS = persistent_secret("CARELAUNCH_ENCRYPTION_KEYS", DATA_DIR, new_fernet_key).split(",")

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Where the built-in sandbox EHR is reached in the embedded mode. A different host name from PUBLIC_URL on
# purpose: the browser keeps separate cookies, and the EHR simulator embeds CareLaunch cross-origin, as real
# EHRs do. The sandbox itself derives its URLs from each request, so it works on any host and port.
SANDBOX_PUBLIC_URL = env_str("SANDBOX_PUBLIC_URL", "http://localhost:8000").rstrip("/")
# Absolute base URL of this deployment; launch URLs, redirect URIs and JWKS URLs are built from it.
PUBLIC_URL = env_str("CARELAUNCH_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Number of reverse proxies in front of the app whose X-Forwarded-For entries we trust (0 = use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env_int("CARELAUNCH_TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mozilla_django_oidc",
    "oauth2_provider",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.tenants",
    "apps.smart",
    "apps.console",
    "apps.engagement",
    "apps.sandbox",
    "apps.sandbox.oauth",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.SecurityHeadersMiddleware",
    "apps.core.middleware.TenantScopeMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.core.context_processors.carelaunch",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'carelaunch.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Named cursors outlive the per-statement transaction that carries the RLS tenant setting.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Lockout: after this many failed passwords for one username, refuse logins for the lockout period.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)

# Sessions: an idle timeout and an absolute lifetime, both enforced server-side by SessionLifetimeMiddleware.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
SESSION_ABSOLUTE_LIFETIME = env_int("SESSION_ABSOLUTE_LIFETIME", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_LIFETIME
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_ENGINE = "django.contrib.sessions.backends.cache" if REDIS_URL else "django.contrib.sessions.backends.db"
CSRF_COOKIE_HTTPONLY = True

# Single sign-on (OpenID Connect) for staff and hospital IT; off unless a client id and the provider's
# endpoints are configured.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT")
# The provider's `iss`; when set, id_tokens from any other issuer are refused.
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER")
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_CREATE_USER = env_bool("OIDC_CREATE_USER", True)
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("apps.accounts.oidc.CareLaunchOIDCBackend")
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/"

# Internationalisation: English and Traditional Chinese (Taiwan).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hant", _("Traditional Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Taipei")

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Celery: Redis broker when REDIS_URL is set, otherwise tasks run in-process (embedded mode).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CareLaunch <no-reply@carelaunch.invalid>")

# The built-in sandbox EHR (demo and test); production settings turn it off by default.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", True)
# Where the sandbox EHR writes Bulk Data export files (NDJSON); served only to the client that asked.
SANDBOX_BULK_DIR = Path(env_str("SANDBOX_BULK_DIR", str(DATA_DIR / "bulk")))

# The sandbox EHR's authorization server (django-oauth-toolkit). The id_token signing key comes from the
# environment; in the embedded mode apps.sandbox.oauth generates it under DATA_DIR on first use (never committed).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    "OAUTH2_VALIDATOR_CLASS": "apps.sandbox.oauth.validators.SmartOAuth2Validator",
    "OAUTH2_SERVER_CLASS": "apps.sandbox.oauth.server.SmartServer",
    "OIDC_SERVER_CLASS": "apps.sandbox.oauth.server.SmartServer",
    "SCOPES_BACKEND_CLASS": "apps.sandbox.oauth.scopes.SmartScopes",
    "SCOPES": {"openid": "OpenID Connect"},
    "DEFAULT_SCOPES": [],
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    "ALLOW_URI_WILDCARDS": False,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": env_int("SANDBOX_CODE_EXPIRE_SECONDS", 60),
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("SANDBOX_ACCESS_TOKEN_EXPIRE_SECONDS", 3600),
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": env_str("SANDBOX_OIDC_RSA_PRIVATE_KEY"),
    "REQUEST_APPROVAL_PROMPT": "force",
}
# Backend-services (client_credentials) tokens live at most this long (SMART Backend Services: ≤ 5 minutes).
SANDBOX_SYSTEM_TOKEN_EXPIRE_SECONDS = env_int("SANDBOX_SYSTEM_TOKEN_EXPIRE_SECONDS", 300)
# Show the generated demo logins on the sandbox sign-in page (always when DEBUG).
SANDBOX_SHOW_LOGINS = env_bool("SANDBOX_SHOW_LOGINS", False)

# Security headers that hold in every mode; production adds HSTS and secure cookies.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "apps.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Hospital onboarding (apps.tenants, apps.smart.discovery). Defaults run the embedded mode on 127.0.0.1;
# production.py turns the loopback allowances off.
# Plain-HTTP FHIR base URLs are accepted only for loopback hosts (127.0.0.1, ::1, localhost), and only when on.
ALLOW_INSECURE_LOOPBACK_FHIR = env_bool("ALLOW_INSECURE_LOOPBACK_FHIR", True)
# SSRF guard for discovery: private, link-local, reserved and multicast addresses are always refused unless
# allowlisted; loopback too unless DISCOVERY_ALLOW_LOOPBACK. On-premise EHRs go in the allowlists.
DISCOVERY_ALLOW_LOOPBACK = env_bool("DISCOVERY_ALLOW_LOOPBACK", True)
DISCOVERY_ALLOWED_HOSTS = env_list("DISCOVERY_ALLOWED_HOSTS")
DISCOVERY_ALLOWED_NETWORKS = env_list("DISCOVERY_ALLOWED_NETWORKS")
DISCOVERY_CONNECT_TIMEOUT = float(env_str("DISCOVERY_CONNECT_TIMEOUT", "5"))
DISCOVERY_READ_TIMEOUT = float(env_str("DISCOVERY_READ_TIMEOUT", "10"))
DISCOVERY_MAX_BYTES = env_int("DISCOVERY_MAX_BYTES", 1024 * 1024)
DISCOVERY_MAX_REDIRECTS = env_int("DISCOVERY_MAX_REDIRECTS", 3)
DISCOVERY_CACHE_SECONDS = env_int("DISCOVERY_CACHE_SECONDS", 24 * 60 * 60)
# After a key rotation the old key stays in the JWKS this long (seconds), then is retired.
TENANT_KEY_ROTATION_OVERLAP = env_int("TENANT_KEY_ROTATION_OVERLAP", 7 * 24 * 60 * 60)
# JWKS responses may be cached by EHRs this long (seconds); keep it well under the rotation overlap.
TENANT_JWKS_MAX_AGE = env_int("TENANT_JWKS_MAX_AGE", 60 * 60)
TENANT_INVITATION_DAYS = env_int("TENANT_INVITATION_DAYS", 7)
CELERY_BEAT_SCHEDULE: dict = {}
CELERY_BEAT_SCHEDULE["tenants-refresh-discovery-daily"] = {
    "task": "apps.tenants.tasks.refresh_all_discovery",
    "schedule": 24 * 60 * 60,
}
CELERY_BEAT_SCHEDULE["tenants-retire-expired-keys"] = {
    "task": "apps.tenants.tasks.retire_expired_keys_all",
    "schedule": 60 * 60,
}

# SMART App Launch client (apps.smart).
# A launch must come back to the callback within this many seconds (state, PKCE verifier and nonce expire).
SMART_LAUNCH_STATE_SECONDS = env_int("SMART_LAUNCH_STATE_SECONDS", 10 * 60)
# A CareLaunch session after a launch: idle timeout and absolute lifetime (seconds).
SMART_SESSION_IDLE_SECONDS = env_int("SMART_SESSION_IDLE_SECONDS", 30 * 60)
SMART_SESSION_MAX_SECONDS = env_int("SMART_SESSION_MAX_SECONDS", 8 * 60 * 60)
# Requests per client address per minute to /launch (and standalone launch pages) and to the callback.
SMART_RATE_LIMIT_LAUNCH = env_int("SMART_RATE_LIMIT_LAUNCH", 30)
SMART_RATE_LIMIT_CALLBACK = env_int("SMART_RATE_LIMIT_CALLBACK", 30)
# Outbound HTTP to EHRs (token, JWKS, revocation, FHIR reads): connect and read timeouts in seconds.
SMART_HTTP_CONNECT_TIMEOUT = float(env_str("SMART_HTTP_CONNECT_TIMEOUT", "5"))
SMART_HTTP_READ_TIMEOUT = float(env_str("SMART_HTTP_READ_TIMEOUT", "15"))
# Refresh access tokens this many seconds before they expire (beat job), and how often the job runs.
SMART_REFRESH_AHEAD_SECONDS = env_int("SMART_REFRESH_AHEAD_SECONDS", 5 * 60)
SMART_REFRESH_SCAN_SECONDS = env_int("SMART_REFRESH_SCAN_SECONDS", 60)
# Client-assertion algorithms CareLaunch signs with, in order of preference (the first one the EHR accepts).
SMART_ASSERTION_ALGS = env_list("SMART_ASSERTION_ALGS", "RS384,ES384")
# Allowed clock skew (seconds) when checking id_token exp / iat.
SMART_CLOCK_SKEW_SECONDS = env_int("SMART_CLOCK_SKEW_SECONDS", 60)
CELERY_BEAT_SCHEDULE["smart-refresh-expiring-grants"] = {
    "task": "apps.smart.tasks.refresh_expiring_grants",
    "schedule": SMART_REFRESH_SCAN_SECONDS,
}
# Send a Server-Timing header (CareLaunch's own time vs time waiting on the EHR) on launch responses.
SMART_SERVER_TIMING = env_bool("SMART_SERVER_TIMING", False)
# Questionnaire responses whose write to the EHR failed are retried by tasks with backoff; this sweep picks up
# any that are due (a lost task, a restarted worker, the embedded mode without a worker).
CELERY_BEAT_SCHEDULE["engagement-retry-due-responses"] = {
    "task": "apps.engagement.tasks.retry_due_responses",
    "schedule": 5 * 60,
}
# How long FHIR reads behind the engagement pages stay cached per grant (seconds).
ENGAGEMENT_CACHE_SECONDS = env_int("ENGAGEMENT_CACHE_SECONDS", 300)
