"""The sandbox authorization server's own rows, next to django-oauth-toolkit's (nothing here is tenant-owned).

DOT keeps applications, codes and tokens; these models add what SMART needs on top: who a sandbox user is in
FHIR terms, how each client authenticates, the launch context bound to codes and tokens, EHR-launch handles
and client-assertion `jti` values already seen.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AccessToken, Application


class SandboxUser(models.Model):
    """A practitioner or patient who signs in at the sandbox EHR (never at the CareLaunch console)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sandbox_identity")
    fhir_user = models.CharField(_("FHIR user"), max_length=64, unique=True)  # "Practitioner/pr-001"
    display_name = models.CharField(_("display name"), max_length=200, blank=True)

    def __str__(self) -> str:
        return self.fhir_user

    @property
    def resource_type(self) -> str:
        return self.fhir_user.split("/", 1)[0]

    @property
    def logical_id(self) -> str:
        return self.fhir_user.split("/", 1)[1]

    @property
    def is_practitioner(self) -> bool:
        return self.resource_type == "Practitioner"


class ClientProfile(models.Model):
    """SMART registration details DOT's Application does not carry."""

    class AuthMethod(models.TextChoices):
        NONE = "none", _("public client (none)")
        CLIENT_SECRET_BASIC = "client_secret_basic", _("client secret (HTTP Basic)")
        PRIVATE_KEY_JWT = "private_key_jwt", _("private key JWT")

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="sandbox_profile")
    auth_method = models.CharField(max_length=32, choices=AuthMethod.choices)
    jwks_url = models.URLField(max_length=500, blank=True)
    # Scopes a backend-services client may be granted (space-separated); empty = any system/ scope.
    allowed_system_scopes = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.application.client_id} ({self.auth_method})"


class EhrLaunch(models.Model):
    """An opaque `launch` value handed out by the EHR simulator, bound to the context picked there.

    Only the SHA-256 of the value is stored; it is single use and expires within minutes.
    """

    launch_hash = models.CharField(max_length=64, unique=True)
    fhir_user = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    encounter_id = models.CharField(max_length=64, blank=True)
    need_patient_banner = models.BooleanField(default=False)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"EHR launch {self.pk}"


class CodeContext(models.Model):
    """Launch context decided at the authorize step, bound to one authorization code (by its SHA-256).

    Outlives the DOT Grant row (which is deleted on exchange) so a replayed code is recognised and the tokens
    issued from it are revoked (RFC 6749 §4.1.2).
    """

    code_hash = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=255)
    fhir_user = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    encounter_id = models.CharField(max_length=64, blank=True)
    fhir_context = models.JSONField(default=list, blank=True)
    need_patient_banner = models.BooleanField(default=True)
    intent = models.CharField(max_length=64, blank=True)
    expires = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    access_token_id = models.BigIntegerField(null=True, blank=True)
    token_family = models.UUIDField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"code context {self.pk} ({self.client_id})"


class TokenContext(models.Model):
    """The SMART launch context of one access token; read with the token in one query (select_related)."""

    access_token = models.OneToOneField(AccessToken, on_delete=models.CASCADE, related_name="sandbox_context")
    fhir_user = models.CharField(max_length=64, blank=True)
    patient_id = models.CharField(max_length=64, blank=True)
    encounter_id = models.CharField(max_length=64, blank=True)
    fhir_context = models.JSONField(default=list, blank=True)
    need_patient_banner = models.BooleanField(default=True)
    intent = models.CharField(max_length=64, blank=True)
    is_system = models.BooleanField(default=False)
    # Refresh-token family (DOT RefreshToken.token_family) so a replay revokes everything issued from it.
    token_family = models.UUIDField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"context of access token {self.access_token_id}"


class AssertionJti(models.Model):
    """`jti` values of client assertions already accepted (RFC 7523 §3 replay protection), kept until `exp`."""

    client_id = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    expires = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_id", "jti"], name="sandbox_oauth_jti_unique")]

    def __str__(self) -> str:
        return f"assertion jti of {self.client_id}"
