"""django-oauth-toolkit validator for the sandbox EHR: SMART scopes, launch context, client authentication
(none / client_secret_basic / private_key_jwt) and authorization-code replay handling.

SMART App Launch 2.2 §app-launch (token response context), §client-confidential-asymmetric, §backend-services;
RFC 6749 §4.1.2 (a replayed code revokes the tokens issued from it).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken, revoke_access_token
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from apps.sandbox.oauth import urlbase
from apps.sandbox.oauth.client_auth import ASSERTION_TYPE, AssertionError_, unverified_claims, verify_client_assertion
from apps.sandbox.oauth.models import ClientProfile, CodeContext, TokenContext
from apps.sandbox.oauth.scopes import SPECIAL_SCOPES, parse_resource_scope

log = logging.getLogger(__name__)

ALLOWED_GRANT_TYPES = {"authorization_code", "refresh_token", "client_credentials"}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _param(request, name: str) -> str | None:
    value = getattr(request, name, None)
    return value if isinstance(value, str) and value else None


def _profile(application: Application | None) -> ClientProfile | None:
    if application is None:
        return None
    try:
        return application.sandbox_profile
    except ClientProfile.DoesNotExist:
        return None


def revoke_code_family(code_hash: str) -> None:
    """RFC 6749 §4.1.2: the code was used before; revoke every token issued from it."""
    context = CodeContext.objects.filter(code_hash=code_hash, used_at__isnull=False).first()
    if context is None:
        return
    if context.token_family:
        RefreshToken.revoke_family(context.token_family)
        AccessToken.objects.filter(sandbox_context__token_family=context.token_family).delete()
    if context.access_token_id:
        token = AccessToken.objects.filter(pk=context.access_token_id).first()
        if token is not None:
            revoke_access_token(token)
    log.warning("sandbox: authorization code replayed for client %s; its tokens were revoked", context.client_id)


class SmartOAuth2Validator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "fhirUser": "fhirUser"}

    # --- request origin (the sandbox runs on any host) -------------------------------------------------

    @staticmethod
    def origin(request) -> str:
        return urlbase.origin_from_uri(request.uri)

    def get_oidc_issuer_endpoint(self, request):
        return urlbase.fhir_base(self.origin(request))

    # --- client authentication --------------------------------------------------------------------------

    def client_authentication_required(self, request, *args, **kwargs):
        if _param(request, "client_assertion") or self._extract_basic_auth(request):
            return True
        self._load_application(request.client_id, request)
        profile = _profile(request.client)
        if profile is not None:
            return profile.auth_method != ClientProfile.AuthMethod.NONE
        return super().client_authentication_required(request, *args, **kwargs)

    def authenticate_client(self, request, *args, **kwargs):
        assertion = _param(request, "client_assertion")
        if assertion is not None:
            return self._authenticate_assertion(request, assertion)
        if self._extract_basic_auth(request):
            if not self._authenticate_basic_auth(request):
                return False
            profile = _profile(request.client)
            return profile is not None and profile.auth_method == ClientProfile.AuthMethod.CLIENT_SECRET_BASIC
        # client_secret_post is not offered (smart-configuration does not advertise it).
        return False

    def _authenticate_assertion(self, request, assertion: str) -> bool:
        if _param(request, "client_assertion_type") != ASSERTION_TYPE:
            return False
        try:
            claims = unverified_claims(assertion)
        except AssertionError_:
            return False
        client_id = claims.get("iss")
        if not isinstance(client_id, str) or (request.client_id and request.client_id != client_id):
            return False
        request.client = None
        application = self._load_application(client_id, request)
        profile = _profile(application)
        if profile is None or profile.auth_method != ClientProfile.AuthMethod.PRIVATE_KEY_JWT:
            return False
        origin = self.origin(request)
        audiences = [urlbase.absolute(origin, "token")]
        if getattr(request, "sandbox_extra_audiences", None):
            audiences += request.sandbox_extra_audiences
        try:
            verify_client_assertion(
                assertion=assertion, client_id=client_id, jwks_url=profile.jwks_url, audiences=audiences
            )
        except AssertionError_ as exc:
            log.info("sandbox: client assertion rejected for %s: %s", client_id, exc)
            return False
        request.client_id = client_id
        return True

    def authenticate_client_id(self, client_id, request, *args, **kwargs):
        if self._load_application(client_id, request) is None:
            return False
        profile = _profile(request.client)
        if profile is not None and profile.auth_method != ClientProfile.AuthMethod.NONE:
            return False
        return request.client.client_type != Application.CLIENT_CONFIDENTIAL

    # --- grant types, response types, scopes -----------------------------------------------------------

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if grant_type not in ALLOWED_GRANT_TYPES:
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        return response_type == "code" and client.allows_grant_type(Application.GRANT_AUTHORIZATION_CODE)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not scopes:
            return False
        system = request.grant_type == "client_credentials"
        for scope in scopes:
            if scope in SPECIAL_SCOPES:
                if system:
                    return False
                continue
            parsed = parse_resource_scope(scope)
            if parsed is None or (parsed.context == "system") != system:
                return False
        if system:
            profile = _profile(client)
            allowed = set((profile.allowed_system_scopes if profile else "").split())
            if allowed and not set(scopes) <= allowed:
                return False
        return True

    # --- authorization codes -----------------------------------------------------------------------------

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        context: dict[str, Any] = getattr(request, "smart_launch", None) or {}
        CodeContext.objects.create(
            code_hash=sha256(code["code"]),
            client_id=client_id,
            fhir_user=context.get("fhir_user", ""),
            patient_id=context.get("patient_id", ""),
            encounter_id=context.get("encounter_id", ""),
            fhir_context=context.get("fhir_context", []),
            need_patient_banner=context.get("need_patient_banner", True),
            intent=context.get("intent", ""),
            expires=timezone.now() + timezone.timedelta(seconds=120),
        )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        code_hash = sha256(code)
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            revoke_code_family(code_hash)
            return False
        # Compare-and-swap: exactly one exchange can claim the code (a failed PKCE check burns it too).
        claimed = CodeContext.objects.filter(
            code_hash=code_hash, client_id=client.client_id, used_at=None, expires__gt=timezone.now()
        ).update(used_at=timezone.now())
        if claimed != 1:
            revoke_code_family(code_hash)
            return False
        return True

    # --- launch context ------------------------------------------------------------------------------------

    def smart_context(self, request) -> dict[str, Any]:
        """The launch context the token being issued carries; cached on the oauthlib request."""
        cached = getattr(request, "sandbox_context_cache", None)
        if cached is not None:
            return cached
        context: dict[str, Any] = {}
        if request.grant_type == "authorization_code" and request.code:
            row = CodeContext.objects.filter(code_hash=sha256(request.code)).first()
            if row is not None:
                context = {
                    "code_context_id": row.pk,
                    "fhir_user": row.fhir_user,
                    "patient_id": row.patient_id,
                    "encounter_id": row.encounter_id,
                    "fhir_context": row.fhir_context,
                    "need_patient_banner": row.need_patient_banner,
                    "intent": row.intent,
                }
        elif request.grant_type == "refresh_token":
            refresh = getattr(request, "refresh_token_instance", None)
            row = TokenContext.objects.filter(access_token_id=getattr(refresh, "access_token_id", None)).first()
            if row is not None:
                context = {
                    "fhir_user": row.fhir_user,
                    "patient_id": row.patient_id,
                    "encounter_id": row.encounter_id,
                    "fhir_context": row.fhir_context,
                    "need_patient_banner": row.need_patient_banner,
                    "intent": row.intent,
                }
        elif request.grant_type == "client_credentials":
            context = {"is_system": True}
        request.sandbox_context_cache = context
        return context

    def get_additional_claims(self, request):
        context = self.smart_context(request)
        claims: dict[str, Any] = {}
        if context.get("fhir_user"):
            claims["fhirUser"] = f"{urlbase.fhir_base(self.origin(request))}/{context['fhir_user']}"
        user = getattr(request, "user", None)
        identity = getattr(user, "sandbox_identity", None) if user is not None else None
        if identity is not None and identity.display_name:
            claims["name"] = identity.display_name
        return claims

    def _save_bearer_token(self, token, request, *args, **kwargs):
        context = self.smart_context(request)
        super()._save_bearer_token(token, request, *args, **kwargs)
        access_token = AccessToken.objects.get(token_checksum=sha256(token["access_token"]))
        family = (
            RefreshToken.objects.filter(access_token=access_token, revoked__isnull=True)
            .values_list("token_family", flat=True)
            .first()
        )
        TokenContext.objects.update_or_create(
            access_token=access_token,
            defaults={
                "fhir_user": context.get("fhir_user", ""),
                "patient_id": context.get("patient_id", ""),
                "encounter_id": context.get("encounter_id", ""),
                "fhir_context": context.get("fhir_context", []),
                "need_patient_banner": context.get("need_patient_banner", False),
                "intent": context.get("intent", ""),
                "is_system": bool(context.get("is_system")),
                "token_family": family,
            },
        )
        if context.get("code_context_id"):
            CodeContext.objects.filter(pk=context["code_context_id"]).update(
                access_token_id=access_token.pk, token_family=family
            )


def check_pkce_method(request) -> None:
    """oauthlib accepts `plain`; SMART App Launch 2.2 requires S256 only."""
    if request.code_challenge_method != "S256":
        raise errors.UnsupportedCodeChallengeMethodError(request=request)
