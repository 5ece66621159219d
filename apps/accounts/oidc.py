"""Single sign-on through OpenID Connect (mozilla-django-oidc), for our staff and hospital IT.

Users are matched by verified email. Staff rights are never granted by the identity provider: an
existing staff account is matched, new accounts start as ordinary users.
"""

from __future__ import annotations

from typing import Any

from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apps.audit import services as audit


class CareLaunchOIDCBackend(OIDCAuthenticationBackend):
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
