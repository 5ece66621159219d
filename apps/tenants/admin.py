"""Staff views of onboarding data. Secrets are never displayed: no client secret, no private key."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.tenants.models import EhrConnection, Invitation, Membership, TenantKey


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "user", "role", "created_at")
    list_filter = ("role",)


@admin.register(EhrConnection)
class EhrConnectionAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "label", "fhir_base_url", "client_auth_method", "last_test_ok", "discovery_fetched_at")
    list_filter = ("client_auth_method", "environment")
    exclude = ("client_secret",)


@admin.register(TenantKey)
class TenantKeyAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "alg", "kid", "state", "created_at", "retiring_at", "retired_at")
    list_filter = ("alg", "state")
    exclude = ("private_key_pem",)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "email", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    exclude = ("token_hash",)
