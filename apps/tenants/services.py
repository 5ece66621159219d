"""Writes for hospital onboarding. Every change that matters is audited here (DESIGN convention 6)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from jwcrypto import jwk

from apps.audit import services as audit
from apps.core.crypto import lookup_hash
from apps.core.models import Tenant
from apps.core.tenancy import all_tenants, tenant_scope
from apps.smart import discovery
from apps.tenants import keys as keygen
from apps.tenants import selectors
from apps.tenants.models import EhrConnection, Invitation, Membership, Role, TenantKey
from apps.tenants.validation import normalize_fhir_base_url, normalize_origins, normalize_scopes

logger = logging.getLogger("carelaunch.tenants")

KEY_ALGS = (TenantKey.Alg.RS384, TenantKey.Alg.ES384)
CONNECTION_FIELDS = (
    "label",
    "environment",
    "fhir_base_url",
    "fhir_version",
    "client_id",
    "client_auth_method",
    "client_secret",
    "scopes",
    "launch_ehr",
    "launch_standalone_patient",
    "launch_standalone_provider",
    "launch_backend_services",
    "backend_client_id",
    "frame_ancestors",
    "allow_missing_s256",
    "use_authorize_post",
)


def require_editor(membership: Membership | None) -> None:
    """Owners and administrators change things; viewers (and outsiders) do not."""
    if membership is None or not membership.can_edit:
        raise PermissionDenied(_("Your role in this tenant is read-only."))


# --- tenants --------------------------------------------------------------------------------------------


def create_tenant(*, slug: str, name_en: str, name_zh_hant: str, owner: Any = None, actor: Any = None) -> Tenant:
    """A new tenant, pending staff approval, with its owner and its first signing keys."""
    with transaction.atomic():
        tenant = Tenant.objects.create(
            slug=slug, name_en=name_en, name_zh_hant=name_zh_hant or name_en, status=Tenant.Status.PENDING
        )
        with tenant_scope(tenant):
            if owner is not None:
                Membership.objects.create(tenant=tenant, user=owner, role=Role.OWNER)
            ensure_keys(tenant=tenant)
        audit.record(action="tenant.created", actor=actor or owner, tenant=tenant, target=f"tenant:{slug}")
    return tenant


def activate_tenant(*, tenant: Tenant, actor: Any = None) -> Tenant:
    """Staff approval. Refused when one of the tenant's FHIR servers already belongs to another active tenant
    (an `iss` must identify exactly one tenant at launch)."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        conflicts = []
        for connection in selectors.connections_for_tenant(tenant):
            others = selectors.active_tenants_using_iss(connection.fhir_base_url, exclude_tenant=tenant)
            conflicts += [connection.fhir_base_url for _other in others]
        if not conflicts:
            return _set_status(tenant, Tenant.Status.ACTIVE, action="tenant.approved", actor=actor)
    # Recorded outside the (rolled back) transaction so the refusal stays in the trail.
    audit.record(
        action="tenant.approved",
        outcome="failure",
        actor=actor,
        tenant=tenant,
        target=f"tenant:{tenant.slug}",
        detail={"reason": "iss_in_use", "iss": conflicts},
    )
    raise ValidationError(
        _("%(iss)s is already connected to another active tenant.") % {"iss": conflicts[0]}, code="iss_in_use"
    )


def suspend_tenant(*, tenant: Tenant, actor: Any = None) -> Tenant:
    with transaction.atomic():
        return _set_status(tenant, Tenant.Status.SUSPENDED, action="tenant.suspended", actor=actor)


def _set_status(tenant: Tenant, status: str, *, action: str, actor: Any) -> Tenant:
    """Change the status and record the change, inside the caller's transaction."""
    previous = tenant.status
    tenant.status = status
    tenant.save(update_fields=["status", "updated_at"])
    audit.record(action=action, actor=actor, tenant=tenant, target=f"tenant:{tenant.slug}", detail={"from": previous})
    return tenant


# --- connections ----------------------------------------------------------------------------------------


def clean_connection_data(
    *, tenant: Tenant, data: dict[str, Any], instance: EhrConnection | None = None
) -> dict[str, Any]:
    """Normalise and check connection fields; raise ValidationError with per-field messages."""
    errors: dict[str, list[Any]] = {}
    cleaned = dict(data)

    def check(field: str, func: Any) -> None:
        if field in cleaned:
            try:
                cleaned[field] = func(cleaned[field])
            except ValidationError as exc:
                errors.setdefault(field, []).extend(exc.error_list)

    check("fhir_base_url", normalize_fhir_base_url)
    check("scopes", normalize_scopes)
    check("frame_ancestors", normalize_origins)
    merged = {name: getattr(instance, name) for name in CONNECTION_FIELDS} if instance else {}
    merged.update(cleaned)
    if not (merged.get("label") or "").strip():
        errors.setdefault("label", []).append(ValidationError(_("Enter a label."), code="required"))
    if not (merged.get("client_id") or "").strip():
        errors.setdefault("client_id", []).append(ValidationError(_("Enter the client ID."), code="required"))
    if merged.get("client_auth_method") == EhrConnection.ClientAuth.CLIENT_SECRET_BASIC and not merged.get(
        "client_secret"
    ):
        errors.setdefault("client_secret", []).append(
            ValidationError(_("Client secret authentication needs the client secret."), code="required")
        )
    modes = ("launch_ehr", "launch_standalone_patient", "launch_standalone_provider", "launch_backend_services")
    if not any(merged.get(mode, mode == "launch_ehr" and instance is None) for mode in modes):
        errors.setdefault("launch_ehr", []).append(
            ValidationError(_("Enable at least one launch mode."), code="required")
        )
    if "fhir_base_url" not in errors and merged.get("fhir_base_url"):
        iss = merged["fhir_base_url"]
        with tenant_scope(tenant):
            same_tenant = EhrConnection.objects.filter(tenant=tenant, fhir_base_url=iss)
            if instance is not None:
                same_tenant = same_tenant.exclude(pk=instance.pk)
            if same_tenant.exists():
                errors.setdefault("fhir_base_url", []).append(
                    ValidationError(_("This tenant already has a connection to this FHIR server."), code="unique")
                )
        if selectors.active_tenants_using_iss(iss, exclude_tenant=tenant):
            errors.setdefault("fhir_base_url", []).append(
                ValidationError(_("This FHIR server is already connected to another active tenant."), code="iss_in_use")
            )
    if merged.get("label"):
        with tenant_scope(tenant):
            same_label = EhrConnection.objects.filter(tenant=tenant, label=merged["label"].strip())
            if instance is not None:
                same_label = same_label.exclude(pk=instance.pk)
            if same_label.exists():
                errors.setdefault("label", []).append(
                    ValidationError(_("A connection with this label already exists."), code="unique")
                )
    if errors:
        raise ValidationError(errors)
    if "label" in cleaned:
        cleaned["label"] = cleaned["label"].strip()
    return cleaned


def save_connection(
    *, tenant: Tenant, data: dict[str, Any], actor: Any = None, connection: EhrConnection | None = None
) -> EhrConnection:
    """Create or update a connection; all or nothing. `data` holds only fields to set (a blank
    client_secret on update keeps the stored one)."""
    data = {key: value for key, value in data.items() if key in CONNECTION_FIELDS}
    if connection is not None and not data.get("client_secret"):
        data.pop("client_secret", None)
    cleaned = clean_connection_data(tenant=tenant, data=data, instance=connection)
    with tenant_scope(tenant):
        creating = connection is None
        if creating:
            connection = EhrConnection(tenant=tenant)
        changed = [name for name, value in cleaned.items() if creating or getattr(connection, name) != value]
        iss_changed = "fhir_base_url" in changed and not creating
        old_key = discovery.cache_key(connection) if not creating else None
        for name, value in cleaned.items():
            setattr(connection, name, value)
        if iss_changed:
            # What we discovered belongs to the old server.
            connection.smart_configuration, connection.capabilities = {}, []
            connection.discovery_fetched_at, connection.last_test_ok = None, None
            connection.discovery_source = connection.discovered_fhir_version = connection.last_test_error = ""
        try:
            with transaction.atomic():
                connection.save()
                if creating or changed:
                    audit.record(
                        action="connection.created" if creating else "connection.changed",
                        actor=actor,
                        tenant=tenant,
                        target=f"connection:{connection.pk}",
                        detail={"label": connection.label, "iss": connection.fhir_base_url, "fields": sorted(changed)},
                    )
        except IntegrityError:
            raise ValidationError(
                {"label": [_("A connection with this label or FHIR server already exists.")]}
            ) from None
    if old_key:
        transaction.on_commit(lambda: discovery.cache.delete(old_key))
    return connection


@dataclass
class ConnectionTest:
    ok: bool
    result: discovery.DiscoveryResult | None = None
    error: discovery.DiscoveryError | None = None


def _store_discovery(connection: EhrConnection, result: discovery.DiscoveryResult) -> None:
    connection.smart_configuration = result.configuration
    connection.capabilities = result.capabilities
    connection.discovery_source = result.source
    connection.discovered_fhir_version = result.fhir_version[:16]
    connection.discovery_fetched_at = timezone.now()


def test_connection(*, connection: EhrConnection, actor: Any = None) -> ConnectionTest:
    """Run discovery now (no cache), keep what was found on the connection, audit the outcome.

    The HTTP request happens outside any database transaction.
    """
    try:
        result = discovery.get_configuration(connection, refresh=True)
    except discovery.DiscoveryError as exc:
        report = ConnectionTest(ok=False, error=exc)
    else:
        report = ConnectionTest(ok=True, result=result)
    with tenant_scope(connection.tenant_id), transaction.atomic():
        now = timezone.now()
        connection.last_test_ok = report.ok
        connection.last_test_error = "" if report.ok else report.error.code
        connection.last_tested_at = now
        fields = ["last_test_ok", "last_test_error", "last_tested_at", "updated_at"]
        if report.result is not None:
            _store_discovery(connection, report.result)
            fields += [
                "smart_configuration",
                "capabilities",
                "discovery_source",
                "discovered_fhir_version",
                "discovery_fetched_at",
            ]
        connection.save(update_fields=fields)
        audit.record(
            action="connection.tested",
            outcome="success" if report.ok else "failure",
            actor=actor,
            tenant=connection.tenant_id,
            target=f"connection:{connection.pk}",
            detail={"iss": connection.fhir_base_url, "error": "" if report.ok else report.error.code},
        )
    return report


def refresh_discovery(*, connection: EhrConnection) -> bool:
    """The daily refresh (SMART checklist C4): re-discover, store, audit when something changed.
    Returns True when the configuration changed."""
    try:
        result = discovery.get_configuration(connection, refresh=True)
    except discovery.DiscoveryError as exc:
        audit.record(
            action="connection.discovery_refreshed",
            outcome="failure",
            actor="system",
            tenant=connection.tenant_id,
            target=f"connection:{connection.pk}",
            detail={"iss": connection.fhir_base_url, "error": exc.code},
        )
        return False
    with tenant_scope(connection.tenant_id), transaction.atomic():
        before = connection.smart_configuration or {}
        changed_keys = sorted(
            key for key in set(before) | set(result.configuration) if before.get(key) != result.configuration.get(key)
        )
        _store_discovery(connection, result)
        connection.save(
            update_fields=[
                "smart_configuration",
                "capabilities",
                "discovery_source",
                "discovered_fhir_version",
                "discovery_fetched_at",
                "updated_at",
            ]
        )
        if changed_keys:
            audit.record(
                action="connection.discovery_changed",
                actor="system",
                tenant=connection.tenant_id,
                target=f"connection:{connection.pk}",
                detail={"iss": connection.fhir_base_url, "changed": changed_keys},
            )
    return bool(changed_keys)


# --- keys -----------------------------------------------------------------------------------------------


def _new_key(tenant: Tenant, alg: str) -> TenantKey:
    kid, public, pem = keygen.generate_key_pair(alg)
    return TenantKey.objects.create(tenant=tenant, alg=alg, kid=kid, public_jwk=public, private_key_pem=pem)


def ensure_keys(*, tenant: Tenant) -> list[TenantKey]:
    """Make sure the tenant has one active key per algorithm; returns the keys created."""
    created = []
    with tenant_scope(tenant):
        for alg in KEY_ALGS:
            if not TenantKey.objects.filter(tenant=tenant, alg=alg, state=TenantKey.State.ACTIVE).exists():
                created.append(_new_key(tenant, alg))
    return created


def rotate_keys(*, tenant: Tenant, actor: Any = None) -> list[TenantKey]:
    """New active keys; the old active keys become `retiring` and stay published for the overlap
    (SMART checklist B2) so assertions signed just before the rotation still verify."""
    now = timezone.now()
    with tenant_scope(tenant), transaction.atomic():
        old = list(
            TenantKey.objects.select_for_update().filter(tenant=tenant, state=TenantKey.State.ACTIVE).order_by("id")
        )
        TenantKey.objects.filter(pk__in=[key.pk for key in old]).update(state=TenantKey.State.RETIRING, retiring_at=now)
        new = [_new_key(tenant, alg) for alg in KEY_ALGS]
        retire_expired_keys(tenant=tenant)
        audit.record(
            action="tenant.keys_rotated",
            actor=actor,
            tenant=tenant,
            target=f"tenant:{tenant.slug}",
            detail={"new_kids": [key.kid for key in new], "retiring_kids": [key.kid for key in old]},
        )
    return new


def retire_expired_keys(*, tenant: Tenant) -> int:
    """Retiring keys past the overlap become retired (the JWKS already hides them; this records it)."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=int(settings.TENANT_KEY_ROTATION_OVERLAP))
    with tenant_scope(tenant):
        return TenantKey.objects.filter(tenant=tenant, state=TenantKey.State.RETIRING, retiring_at__lte=cutoff).update(
            state=TenantKey.State.RETIRED, retired_at=now
        )


def signing_key_for(tenant: Tenant, alg: str = "RS384") -> tuple[str, jwk.JWK]:
    """(kid, private JWK) of the tenant's active key for `alg` — for the SMART client's JWT assertions
    (SMART App Launch 2.2 §client-confidential-asymmetric). Creates the key if the tenant has none."""
    if alg not in KEY_ALGS:
        raise ValueError(f"unsupported alg {alg}")
    with tenant_scope(tenant):
        key = (
            TenantKey.objects.filter(tenant=tenant, alg=alg, state=TenantKey.State.ACTIVE)
            .order_by("-created_at", "-id")
            .first()
        )
        if key is None:
            with transaction.atomic():
                ensure_keys(tenant=tenant)
            key = TenantKey.objects.filter(tenant=tenant, alg=alg, state=TenantKey.State.ACTIVE).first()
    return key.kid, keygen.private_jwk(key.private_key_pem, kid=key.kid, alg=alg)


# --- members and invitations ----------------------------------------------------------------------------


def invite_member(*, tenant: Tenant, inviter: Any, email: str, role: str, membership: Membership) -> Invitation:
    """Email a single-use, expiring link. Only owners may invite owners."""
    require_editor(membership)
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose a valid role.")]})
    if role == Role.OWNER and membership.role != Role.OWNER:
        raise ValidationError({"role": [_("Only an owner can invite another owner.")]})
    token = secrets.token_urlsafe(32)
    with tenant_scope(tenant), transaction.atomic():
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=email.strip(),
            role=role,
            token_hash=lookup_hash(token),
            invited_by=inviter,
            expires_at=timezone.now() + timedelta(days=int(settings.TENANT_INVITATION_DAYS)),
        )
        audit.record(
            action="member.invited",
            actor=inviter,
            tenant=tenant,
            target=f"invitation:{invitation.pk}",
            detail={"email": invitation.email, "role": role},
        )
    link = f"{settings.PUBLIC_URL}{reverse('console:invitation', kwargs={'token': token})}"
    language = translation.get_language()
    transaction.on_commit(lambda: _send_invitation(tenant, invitation, link, inviter, language))
    return invitation


def _send_invitation(tenant: Tenant, invitation: Invitation, link: str, inviter: Any, language: str | None) -> None:
    with translation.override(language):
        context = {"tenant": tenant, "invitation": invitation, "link": link, "inviter": inviter}
        subject = _("You are invited to %(tenant)s on CareLaunch") % {"tenant": tenant.display_name}
        body = render_to_string("tenants/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def get_open_invitation(token: str) -> Invitation | None:
    """The invitation behind an emailed token, if it can still be accepted (cross-tenant by hash)."""
    if not token or len(token) > 200:
        return None
    with all_tenants():
        return (
            Invitation.objects.filter(
                token_hash=lookup_hash(token), accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
            )
            .select_related("tenant")
            .first()
        )


def accept_invitation(*, token: str, user: Any) -> Membership | None:
    """Single use by compare-and-swap; None when the link is unknown, used, revoked or expired."""
    invitation = get_open_invitation(token)
    if invitation is None:
        return None
    tenant = invitation.tenant
    with tenant_scope(tenant), transaction.atomic():
        now = timezone.now()
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at=None, revoked_at=None, expires_at__gt=now
        ).update(accepted_at=now, accepted_by=user)
        if claimed != 1:
            return None
        membership, created = Membership.objects.get_or_create(
            tenant=tenant, user=user, defaults={"role": invitation.role}
        )
        audit.record(
            action="member.joined",
            actor=user,
            tenant=tenant,
            target=f"invitation:{invitation.pk}",
            detail={"role": membership.role, "new_member": created},
        )
    return membership


def revoke_invitation(*, tenant: Tenant, invitation_id: int, actor: Any, membership: Membership) -> bool:
    require_editor(membership)
    with tenant_scope(tenant), transaction.atomic():
        revoked = Invitation.objects.filter(tenant=tenant, pk=invitation_id, accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        if revoked:
            audit.record(
                action="member.invitation_revoked", actor=actor, tenant=tenant, target=f"invitation:{invitation_id}"
            )
    return bool(revoked)


def _lock_target_and_owners(member_id: int) -> tuple[Membership | None, list[Membership]]:
    """The member to change and, locked too, every owner: two concurrent demotions cannot leave no owner."""
    owners = list(Membership.objects.select_for_update().filter(role=Role.OWNER).order_by("pk"))
    target = Membership.objects.select_for_update().filter(pk=member_id).select_related("user").first()
    return target, owners


def _check_owner_rules(*, target: Membership, new_role: str | None, membership: Membership, owners: list) -> None:
    """Only owners touch owners; the last owner can be neither demoted nor removed."""
    touches_owner = target.role == Role.OWNER or new_role == Role.OWNER
    if touches_owner and membership.role != Role.OWNER:
        raise ValidationError(_("Only an owner can change or remove an owner."), code="owner_only")
    if target.role == Role.OWNER and new_role != Role.OWNER and len(owners) <= 1:
        raise ValidationError(
            _("A tenant needs at least one owner: make someone else an owner first."), code="last_owner"
        )


def change_member_role(
    *, tenant: Tenant, member_id: int, role: str, actor: Any, membership: Membership
) -> Membership | None:
    """Give a member another role; None when there is no such member in this tenant."""
    require_editor(membership)
    if role not in Role.values:
        raise ValidationError(_("Choose a valid role."), code="invalid_role")
    with tenant_scope(tenant), transaction.atomic():
        target, owners = _lock_target_and_owners(member_id)
        if target is None:
            return None
        _check_owner_rules(target=target, new_role=role, membership=membership, owners=owners)
        previous = target.role
        if previous != role:
            target.role = role
            target.save(update_fields=["role"])
            audit.record(
                action="member.role_changed",
                actor=actor,
                tenant=tenant,
                target=f"user:{target.user_id}",
                detail={"from": previous, "to": role},
            )
    return target


def remove_member(*, tenant: Tenant, member_id: int, actor: Any, membership: Membership) -> bool:
    """Take a member's access away (offboarding); False when there is no such member in this tenant."""
    require_editor(membership)
    with tenant_scope(tenant), transaction.atomic():
        target, owners = _lock_target_and_owners(member_id)
        if target is None:
            return False
        _check_owner_rules(target=target, new_role=None, membership=membership, owners=owners)
        user_id, role = target.user_id, target.role
        target.delete()
        audit.record(
            action="member.removed", actor=actor, tenant=tenant, target=f"user:{user_id}", detail={"role": role}
        )
    return True
