"""SMART App Launch client state: launches in flight, the token vault, launched users and their sessions.

Every secret (PKCE verifier, nonce, EHR `launch` value, tokens, session handles) is either encrypted at rest
(EncryptedTextField) or kept only as a keyed hash (apps.core.crypto.lookup_hash) when we look rows up by it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

from apps.core.crypto import EncryptedTextField
from apps.core.models import Tenant, TenantOwnedModel


class LaunchMode(models.TextChoices):
    EHR = "ehr", _("EHR launch")
    PATIENT = "patient", _("Standalone patient launch")
    PROVIDER = "provider", _("Standalone provider launch")


class LaunchState(TenantOwnedModel):
    """One authorization request in flight (SMART App Launch 2.2 §app-launch, RFC 6749 §10.12, RFC 7636).

    Found at the callback by the keyed hash of `state`; consumed once by a compare-and-swap on `used_at`.
    Bound to the browser that started it: `cookie_hash` (hash of a per-browser cookie value) and, for
    browsers that refuse our cookie inside an EHR's iframe, `fingerprint_hash` (address + user agent).
    """

    state_hash = models.CharField(max_length=64, unique=True)
    connection = models.ForeignKey("tenants.EhrConnection", on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=16, choices=LaunchMode.choices)
    code_verifier = EncryptedTextField()
    nonce = EncryptedTextField()
    launch = EncryptedTextField(null=True, blank=True)
    requested_scopes = models.TextField()
    redirect_uri = models.CharField(max_length=500)
    issuer = models.CharField(max_length=500, blank=True)
    cookie_hash = models.CharField(max_length=64)
    fingerprint_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "expires_at"], name="smart_launchstate_tenant_exp")]

    def __str__(self) -> str:
        return f"launch {self.pk} ({self.mode})"


class SmartIdentity(TenantOwnedModel):
    """The CareLaunch user record of one SMART user (tenant, fhirUser), for audit. Never signs in."""

    fhir_user = models.CharField(max_length=500, blank=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="smart_identity")
    created_at = models.DateTimeField(auto_now_add=True)
    last_launch_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "fhir_user"], name="smart_identity_tenant_fhiruser"),
        ]

    def __str__(self) -> str:
        return f"{self.fhir_user or '(anonymous)'}@{self.tenant_id}"


class TokenGrant(TenantOwnedModel):
    """The token vault: what the EHR granted at one launch (SMART App Launch 2.2 §app-launch, token response).

    Tokens are encrypted at rest and the row is only ever looked up by id, never by a token value.
    `token_version` grows with every refresh so concurrent refreshers can tell that someone else already did it.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        NEEDS_RELAUNCH = "needs_relaunch", _("Needs a new launch")
        REVOKED = "revoked", _("Revoked")

    connection = models.ForeignKey("tenants.EhrConnection", on_delete=models.CASCADE, related_name="+")
    identity = models.ForeignKey(SmartIdentity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    mode = models.CharField(max_length=16, choices=LaunchMode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    access_token = EncryptedTextField(null=True, blank=True)
    refresh_token = EncryptedTextField(null=True, blank=True)
    id_token = EncryptedTextField(null=True, blank=True)
    token_type = models.CharField(max_length=32, default="Bearer")
    expires_at = models.DateTimeField(null=True, blank=True)
    token_version = models.PositiveIntegerField(default=1)
    requested_scopes = models.TextField(blank=True)
    granted_scopes = models.TextField(blank=True)
    fhir_base_url = models.CharField(max_length=500)
    fhir_user = models.CharField(max_length=500, blank=True)  # absolute URL (resolved against the FHIR base)
    id_token_sub = models.CharField(max_length=255, blank=True)
    patient = models.CharField(max_length=255, blank=True)
    encounter = models.CharField(max_length=255, blank=True)
    fhir_context = models.JSONField(default=list, blank=True)
    need_patient_banner = models.BooleanField(null=True, blank=True)
    smart_style_url = models.CharField(max_length=500, blank=True)
    intent = models.CharField(max_length=255, blank=True)
    launch_tenant = models.CharField(max_length=255, blank=True)  # the SMART `tenant` launch parameter
    created_at = models.DateTimeField(auto_now_add=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "status", "expires_at"], name="smart_grant_tenant_status_exp"),
            models.Index(fields=["status", "expires_at"], name="smart_grant_status_exp"),
        ]

    def __str__(self) -> str:
        return f"grant {self.pk} ({self.status})"

    @property
    def granted_scope_list(self) -> list[str]:
        return self.granted_scopes.split()

    @property
    def requested_scope_list(self) -> list[str]:
        return self.requested_scopes.split()

    @property
    def missing_scopes(self) -> list[str]:
        granted = set(self.granted_scope_list)
        return [scope for scope in self.requested_scope_list if scope not in granted]

    @property
    def has_refresh_token(self) -> bool:
        return bool(self.refresh_token)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class SmartSession(TenantOwnedModel):
    """A CareLaunch session after a launch: (tenant, fhirUser, patient, grant).

    Reached through an opaque handle carried in the URL path (`/t/<slug>/app/<handle>/`) so it works in an
    EHR's cross-site iframe where our cookies are refused; only the keyed hash of the handle is stored, and
    the session is bound to the same browser binding as the launch that created it.
    """

    handle_hash = models.CharField(max_length=64, unique=True)
    grant = models.ForeignKey(TokenGrant, on_delete=models.CASCADE, related_name="sessions")
    identity = models.ForeignKey(SmartIdentity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    patient = models.CharField(max_length=255, blank=True)
    cookie_hash = models.CharField(max_length=64)
    fingerprint_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "grant"], name="smart_session_tenant_grant")]

    def __str__(self) -> str:
        return f"session {self.pk} (grant {self.grant_id})"


def _tenant_saved(sender, instance: Tenant, created: bool = False, **kwargs) -> None:
    # Tenant suspension revokes every grant (SMART checklist R3). The tenants app's suspend service saves
    # the status inside its transaction; the revocation (HTTP to the EHR) runs after it commits.
    if not created and instance.status == Tenant.Status.SUSPENDED:
        from apps.smart import services

        services.on_tenant_suspended(tenant_id=instance.pk)


post_save.connect(_tenant_saved, sender=Tenant, dispatch_uid="smart.tenant_suspended")
