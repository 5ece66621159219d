"""Reads for the tenant console and the SMART client. Objects named by user input 404 for outsiders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Tenant
from apps.core.tenancy import all_tenants, tenant_scope
from apps.tenants.models import EhrConnection, Invitation, Membership, TenantKey
from apps.tenants.validation import normalize_fhir_base_url


def get_membership(user: Any, tenant: Tenant) -> Membership | None:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    with tenant_scope(tenant):
        return Membership.objects.filter(tenant=tenant, user=user).first()


def get_membership_or_404(user: Any, tenant: Tenant) -> Membership:
    """The signed-in user's membership of `tenant`; a 404 (not 403) for anyone else, so outsiders
    cannot even learn which tenants exist."""
    membership = get_membership(user, tenant)
    if membership is None:
        raise Http404("No such tenant")
    return membership


def memberships_for_user(user: Any) -> list[Membership]:
    """Every tenant the user belongs to (an explicit cross-tenant read, filtered by the user)."""
    if not getattr(user, "is_authenticated", False):
        return []
    with all_tenants():
        return list(Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__slug"))


def get_connection_for_member(user: Any, tenant: Tenant, pk: Any) -> EhrConnection:
    get_membership_or_404(user, tenant)
    with tenant_scope(tenant):
        connection = EhrConnection.objects.filter(tenant=tenant, pk=_int_or_404(pk)).first()
    if connection is None:
        raise Http404("No such connection")
    return connection


def connections_for_tenant(tenant: Tenant) -> list[EhrConnection]:
    with tenant_scope(tenant):
        return list(EhrConnection.objects.filter(tenant=tenant))


def get_connection_by_label(tenant: Tenant, label: str) -> EhrConnection | None:
    with tenant_scope(tenant):
        return EhrConnection.objects.filter(tenant=tenant, label=label).first()


def members_for_tenant(tenant: Tenant) -> list[Membership]:
    with tenant_scope(tenant):
        return list(Membership.objects.filter(tenant=tenant).select_related("user"))


def open_invitations_for_tenant(tenant: Tenant) -> list[Invitation]:
    with tenant_scope(tenant):
        return list(
            Invitation.objects.filter(
                tenant=tenant, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
            ).select_related("invited_by")
        )


def active_tenants_using_iss(iss: str, *, exclude_tenant: Tenant | None = None) -> list[Tenant]:
    """Active tenants that have a connection to this FHIR base (cross-tenant: the uniqueness rule)."""
    normalized = normalize_fhir_base_url(iss)
    with all_tenants():
        ids = EhrConnection.objects.filter(fhir_base_url=normalized).values_list("tenant_id", flat=True)
        tenants = Tenant.objects.filter(pk__in=list(ids), status=Tenant.Status.ACTIVE)
        if exclude_tenant is not None:
            tenants = tenants.exclude(pk=exclude_tenant.pk)
        return list(tenants)


def find_active_connection_for_iss(iss: str) -> EhrConnection | None:
    """For the EHR launch (SMART checklist L1): the connection of an ACTIVE tenant whose FHIR base equals
    `iss` after normalising, or None. Never makes a network request."""
    try:
        normalized = normalize_fhir_base_url(iss)
    except ValidationError:  # an unparseable iss is simply unknown
        return None
    with all_tenants():
        return (
            EhrConnection.objects.filter(fhir_base_url=normalized, tenant__status=Tenant.Status.ACTIVE)
            .select_related("tenant")
            .first()
        )


# --- keys and JWKS --------------------------------------------------------------------------------------


def _overlap() -> timedelta:
    return timedelta(seconds=int(settings.TENANT_KEY_ROTATION_OVERLAP))


def published_keys(tenant: Tenant) -> QuerySet[TenantKey]:
    """Active keys, and retiring keys still inside the overlap (whether or not the beat job ran yet)."""
    cutoff = timezone.now() - _overlap()
    return TenantKey.objects.filter(tenant=tenant).filter(
        Q(state=TenantKey.State.ACTIVE) | Q(state=TenantKey.State.RETIRING, retiring_at__gt=cutoff)
    )


def jwks_for_tenant(tenant: Tenant) -> dict[str, list[dict]]:
    """The tenant's public JWKS: public members only (kty, n, e / crv, x, y) plus kid, alg, use."""
    with tenant_scope(tenant):
        keys = list(published_keys(tenant).order_by("alg", "-created_at"))
    return {"keys": [dict(key.public_jwk) for key in keys]}


def keys_for_tenant(tenant: Tenant) -> list[TenantKey]:
    with tenant_scope(tenant):
        return list(TenantKey.objects.filter(tenant=tenant).defer("private_key_pem"))


# --- registration values --------------------------------------------------------------------------------


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def launch_url() -> str:
    return _absolute("/launch")


def redirect_uri_for(connection: EhrConnection, tenant: Tenant) -> str:
    """One redirect URI per connection (`/t/<slug>/callback/<connection id>`): the callback then knows which
    authorization server it expects the answer from (mix-up defence, RFC 9700 §4.4)."""
    return _absolute(f"/t/{tenant.slug}/callback/{connection.pk}")


def jwks_url_for(tenant: Tenant) -> str:
    return _absolute(reverse("tenants:jwks", kwargs={"tenant_slug": tenant.slug}))


def registration_values(tenant: Tenant, connection: EhrConnection) -> dict[str, Any]:
    """Exactly what hospital IT enters at the EHR's app registration for this connection."""
    values: dict[str, Any] = {
        "connection": connection.label,
        "fhir_base_url": connection.fhir_base_url,
        "client_id": connection.client_id,
        "client_auth_method": connection.client_auth_method,
        "launch_url": launch_url(),
        "redirect_uri": redirect_uri_for(connection, tenant),
        "scopes": connection.scopes,
        "launch_modes": connection.launch_modes,
    }
    if connection.client_auth_method == EhrConnection.ClientAuth.PRIVATE_KEY_JWT or connection.launch_backend_services:
        values["jwks_url"] = jwks_url_for(tenant)
        values["token_endpoint_auth_signing_algs"] = ["RS384", "ES384"]
    if connection.launch_backend_services:
        values["backend_client_id"] = connection.backend_client_id
    return values


def registration_info(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant": tenant.slug,
        "status": tenant.status,
        "launch_url": launch_url(),
        "jwks_url": jwks_url_for(tenant),
        "connections": [registration_values(tenant, c) for c in connections_for_tenant(tenant)],
    }


def _int_or_404(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("Not found") from None
