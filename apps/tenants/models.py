"""Hospital onboarding: who belongs to a tenant, its EHR connections, its signing keys, its invitations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.crypto import EncryptedTextField
from apps.core.models import TenantOwnedModel


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    VIEWER = "viewer", _("Viewer (read only)")


EDITOR_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(TenantOwnedModel):
    """A user's role in one tenant. Owners and administrators change things; viewers only look."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="tenants_membership_tenant_user")]
        indexes = [models.Index(fields=["user"], name="tenants_membership_user")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.tenant_id}:{self.role}"

    @property
    def can_edit(self) -> bool:
        return self.role in EDITOR_ROLES


class EhrConnection(TenantOwnedModel):
    """One EHR (FHIR server + authorization server) a tenant launches CareLaunch from.

    `fhir_base_url` is the SMART `iss`, stored in one canonical form (see apps.tenants.validation):
    lower-case scheme and host, no default port, no trailing slash, no query, fragment or credentials.
    """

    class Environment(models.TextChoices):
        SANDBOX = "sandbox", _("Sandbox / test")
        PRODUCTION = "production", _("Production")

    class FhirVersion(models.TextChoices):
        R4 = "4.0.1", "R4 (4.0.1)"
        R4B = "4.3.0", "R4B (4.3.0)"
        R5 = "5.0.0", "R5 (5.0.0)"

    class ClientAuth(models.TextChoices):
        PUBLIC = "public", _("Public client (no secret)")
        CLIENT_SECRET_BASIC = "client_secret_basic", _("Client secret (HTTP Basic)")
        PRIVATE_KEY_JWT = "private_key_jwt", _("Private key JWT (asymmetric, our JWKS)")

    label = models.CharField(_("label"), max_length=100)
    environment = models.CharField(
        _("environment"), max_length=16, choices=Environment.choices, default=Environment.PRODUCTION
    )
    fhir_base_url = models.URLField(_("FHIR base URL (iss)"), max_length=500)
    fhir_version = models.CharField(_("FHIR version"), max_length=16, choices=FhirVersion.choices, default="4.0.1")
    client_id = models.CharField(_("client ID"), max_length=255)
    client_auth_method = models.CharField(
        _("client authentication"), max_length=32, choices=ClientAuth.choices, default=ClientAuth.PUBLIC
    )
    client_secret = EncryptedTextField(_("client secret"), blank=True, default="")
    scopes = models.TextField(
        _("requested scopes"),
        default="launch openid fhirUser patient/*.rs offline_access",
        help_text=_("Space-separated SMART scopes."),
    )
    launch_ehr = models.BooleanField(_("EHR launch"), default=True)
    launch_standalone_patient = models.BooleanField(_("standalone patient launch"), default=False)
    launch_standalone_provider = models.BooleanField(_("standalone provider launch"), default=False)
    launch_backend_services = models.BooleanField(_("backend services"), default=False)
    backend_client_id = models.CharField(_("backend services client ID"), max_length=255, blank=True)
    frame_ancestors = models.TextField(
        _("allowed frame ancestors"),
        blank=True,
        help_text=_("Space-separated origins (https://ehr.example.org) allowed to embed CareLaunch."),
    )
    allow_missing_s256 = models.BooleanField(
        _("accept a server that does not advertise PKCE S256"),
        default=False,
        help_text=_("Only for EHRs known to support S256 without advertising it. PKCE S256 is still always sent."),
    )
    use_authorize_post = models.BooleanField(
        _("send the authorization request as a POST (authorize-post)"),
        default=False,
        help_text=_(
            "Only used when the EHR advertises the authorize-post capability; otherwise the browser is redirected "
            "with GET as usual."
        ),
    )
    smart_configuration = models.JSONField(_("discovered SMART configuration"), default=dict, blank=True)
    capabilities = models.JSONField(_("discovered capabilities"), default=list, blank=True)
    discovery_source = models.CharField(max_length=32, blank=True)
    discovered_fhir_version = models.CharField(max_length=16, blank=True)
    discovery_fetched_at = models.DateTimeField(_("discovery fetched at"), null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_error = models.CharField(max_length=64, blank=True)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "id"]
        verbose_name = _("EHR connection")
        verbose_name_plural = _("EHR connections")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "label"], name="tenants_connection_tenant_label"),
            models.UniqueConstraint(fields=["tenant", "fhir_base_url"], name="tenants_connection_tenant_iss"),
        ]
        # The EHR launch looks a connection up by iss before it knows the tenant (the one cross-tenant read
        # on the launch path), so iss gets an index of its own.
        indexes = [models.Index(fields=["fhir_base_url"], name="tenants_connection_iss")]

    def __str__(self) -> str:
        return f"{self.label} ({self.fhir_base_url})"

    @property
    def has_user_facing_launch(self) -> bool:
        return self.launch_ehr or self.launch_standalone_patient or self.launch_standalone_provider

    @property
    def launch_modes(self) -> list[str]:
        modes = []
        if self.launch_ehr:
            modes.append("ehr")
        if self.launch_standalone_patient:
            modes.append("patient")
        if self.launch_standalone_provider:
            modes.append("provider")
        if self.launch_backend_services:
            modes.append("backend")
        return modes

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def secret_hint(self) -> str:
        """What the console may show of the client secret: never the secret itself."""
        if not self.client_secret:
            return ""
        return f"…{self.client_secret[-4:]}" if len(self.client_secret) >= 12 else "set"


class TenantKey(TenantOwnedModel):
    """A signing key pair for private_key_jwt / backend services (SMART client-confidential-asymmetric).

    `kid` is the RFC 7638 JWK thumbprint (SHA-256). The private key is stored as an encrypted PEM.
    Rotation: a new key becomes active, the old one `retiring` (still published in the JWKS) until
    `retiring_at + TENANT_KEY_ROTATION_OVERLAP`, then `retired` (unpublished, never used again).
    """

    class Alg(models.TextChoices):
        RS384 = "RS384", "RS384"
        ES384 = "ES384", "ES384"

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        RETIRING = "retiring", _("Retiring (still published)")
        RETIRED = "retired", _("Retired")

    alg = models.CharField(max_length=8, choices=Alg.choices)
    kid = models.CharField(max_length=100)
    public_jwk = models.JSONField()
    private_key_pem = EncryptedTextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    retiring_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tenant signing key")
        verbose_name_plural = _("tenant signing keys")
        constraints = [models.UniqueConstraint(fields=["tenant", "kid"], name="tenants_key_tenant_kid")]
        indexes = [models.Index(fields=["tenant", "state", "alg"], name="tenants_key_tenant_state")]

    def __str__(self) -> str:
        return f"{self.alg} {self.kid[:12]} ({self.state})"


class Invitation(TenantOwnedModel):
    """An email invitation to join a tenant. The token is only ever in the email; we keep its keyed hash."""

    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(fields=["tenant", "-created_at"], name="tenants_invitation_tenant_time")]

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant_id} ({self.role})"
