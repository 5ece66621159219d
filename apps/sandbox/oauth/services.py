"""Writes of the sandbox authorization server: sandbox users and OAuth clients."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from oauth2_provider.models import Application

from apps.sandbox.oauth.models import ClientProfile, SandboxUser


@transaction.atomic
def ensure_sandbox_user(*, username: str, fhir_user: str, display_name: str, password: str | None) -> SandboxUser:
    """Create or update a sandbox sign-in; the password is set only when given (new users, lost passwords)."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username, defaults={"is_active": True})
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    identity, _ = SandboxUser.objects.update_or_create(
        user=user, defaults={"fhir_user": fhir_user, "display_name": display_name}
    )
    return identity


@transaction.atomic
def ensure_client(
    *,
    client_id: str,
    name: str,
    auth_method: str,
    redirect_uris: list[str],
    jwks_url: str = "",
    backend: bool = False,
    rotate_secret: bool = False,
) -> str | None:
    """Create or update a client; returns a new client secret when one was generated (shown once)."""
    confidential = auth_method != ClientProfile.AuthMethod.NONE
    application = Application.objects.filter(client_id=client_id).first()
    new_secret = None
    if application is None:
        application = Application(client_id=client_id)
        rotate_secret = auth_method == ClientProfile.AuthMethod.CLIENT_SECRET_BASIC
    application.name = name
    application.client_type = Application.CLIENT_CONFIDENTIAL if confidential else Application.CLIENT_PUBLIC
    application.authorization_grant_type = (
        Application.GRANT_CLIENT_CREDENTIALS if backend else Application.GRANT_AUTHORIZATION_CODE
    )
    application.redirect_uris = "" if backend else " ".join(redirect_uris)
    application.algorithm = Application.RS256_ALGORITHM
    application.skip_authorization = False
    if rotate_secret and auth_method == ClientProfile.AuthMethod.CLIENT_SECRET_BASIC:
        new_secret = secrets.token_urlsafe(32)
        application.client_secret = new_secret  # hashed by DOT on save
        application.hash_client_secret = True
    elif auth_method != ClientProfile.AuthMethod.CLIENT_SECRET_BASIC:
        application.client_secret = ""
        application.hash_client_secret = False
    application.save()
    ClientProfile.objects.update_or_create(
        application=application, defaults={"auth_method": auth_method, "jwks_url": jwks_url}
    )
    return new_secret
