"""The oauthlib server the sandbox runs: OpenID Connect code flow, refresh and client_credentials only,
PKCE S256 only, SMART launch context added to every token response."""

from __future__ import annotations

from django.conf import settings
from oauthlib.oauth2.rfc6749.grant_types.authorization_code import code_challenge_method_s256
from oauthlib.openid import Server

from apps.sandbox.oauth import urlbase

OFFLINE = {"offline_access", "online_access"}
LAUNCH_SCOPES = {"launch", "launch/patient", "launch/encounter"}


def _expires_in(request) -> int:
    from oauth2_provider.settings import oauth2_settings

    if request.grant_type == "client_credentials":
        return settings.SANDBOX_SYSTEM_TOKEN_EXPIRE_SECONDS
    return oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS


def smart_token_modifier(token: dict, token_handler, request) -> dict:
    """SMART App Launch 2.2 §app-launch: launch context in the token response; refresh tokens only for
    `offline_access` / `online_access`."""
    validator = token_handler.request_validator
    scopes = set(request.scopes or [])
    if not scopes & OFFLINE:
        token.pop("refresh_token", None)
    context = validator.smart_context(request)
    if context.get("is_system"):
        return token
    origin = validator.origin(request)
    if context.get("patient_id"):
        token["patient"] = context["patient_id"]
    if context.get("encounter_id"):
        token["encounter"] = context["encounter_id"]
    if scopes & LAUNCH_SCOPES or context.get("patient_id"):
        token["fhirContext"] = context.get("fhir_context") or []
        token["need_patient_banner"] = bool(context.get("need_patient_banner"))
        token["smart_style_url"] = urlbase.absolute(origin, "style")
        token["tenant"] = urlbase.SANDBOX_TENANT
        if context.get("intent"):
            token["intent"] = context["intent"]
    return token


def _without_refresh_token(token: dict) -> dict:
    token.pop("refresh_token", None)
    return token


class SmartServer(Server):
    def __init__(self, request_validator, token_expires_in=None, *args, **kwargs):
        super().__init__(request_validator, _expires_in, *args, **kwargs)
        s256_only = {"S256": code_challenge_method_s256}
        for grant in (self.auth_grant, self.openid_connect_auth.proxy_target):
            grant._code_challenge_methods = s256_only
        for grant in (self.auth_grant, self.openid_connect_auth.proxy_target, self.refresh_grant.proxy_target):
            grant.register_token_modifier(smart_token_modifier)
        # oauthlib calls client_credentials modifiers with the token only; backend tokens carry no launch context
        # and never a refresh token (SMART Backend Services).
        self.credentials_grant.register_token_modifier(_without_refresh_token)
