"""Single sign-on through OpenID Connect (mozilla-django-oidc), for our staff and hospital IT.

Users are matched by verified email. Staff rights are never granted by the identity provider: an
existing staff account is matched, new accounts start as ordinary users.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.audit import services as audit

# Allowed clock difference between us and the identity provider.
CLOCK_SKEW_SECONDS = 120


class CareLaunchOIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """Signature and nonce (the library), then the claims the library leaves unchecked (OIDC Core §3.1.3.7)."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("id_token audience is not this client")
        expected_issuer = settings.OIDC_OP_ISSUER
        if expected_issuer and payload.get("iss") != expected_issuer:
            raise SuspiciousOperation("id_token issuer is not the configured provider")
        now = time.time()
        if not isinstance(payload.get("exp"), (int, float)) or payload["exp"] < now - CLOCK_SKEW_SECONDS:
            raise SuspiciousOperation("id_token has expired")
        if isinstance(payload.get("iat"), (int, float)) and payload["iat"] > now + CLOCK_SKEW_SECONDS:
            raise SuspiciousOperation("id_token was issued in the future")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        # An address the provider has not verified could be anyone's.
        return bool(claims.get("email")) and claims.get("email_verified", True) is not False

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = super().create_user(claims)
        user.first_name = claims.get("given_name", "")[:150]
        user.last_name = claims.get("family_name", "")[:150]
        user.set_unusable_password()
        user.save()
        audit.record(actor=user, action="accounts.sso_user_created", target=f"user:{user.pk}", outcome="success")
        return user

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        user = super().authenticate(request, **kwargs)
        if request is not None and "code" in request.GET:
            audit.record(actor=user, action="accounts.sso_login", outcome="success" if user else "failure")
        return user
