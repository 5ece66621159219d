"""Writes of the SMART App Launch client (SMART App Launch 2.2 §app-launch, §backend-services).

Launch: `start_ehr_launch` / `start_standalone_launch` → the EHR's authorize endpoint → `complete_launch`
at the per-connection callback. After launch: `refresh_grant` (row lock), `end_grant` (revocation),
`system_token` (backend services). Each launch outcome is audited here.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from apps.audit import services as audit
from apps.core.crypto import decrypt, encrypt, lookup_hash
from apps.core.models import Tenant
from apps.core.tenancy import all_tenants, tenant_scope
from apps.smart import discovery, jose, outbound
from apps.smart.errors import LaunchError
from apps.smart.models import LaunchMode, LaunchState, SmartIdentity, SmartSession, TokenGrant
from apps.smart.scopes import requested_scopes
from apps.tenants import selectors as tenant_selectors
from apps.tenants.models import EhrConnection

logger = logging.getLogger("carelaunch.smart")

_OAUTH_ERROR = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SAFE_CONTEXT = re.compile(r"^[A-Za-z0-9\-.:/_]{1,255}$")
REDISCOVER_ON = frozenset({"token_error", "token_response_invalid", "id_token_invalid", "issuer_mismatch"})
MODE_FLAGS = {
    LaunchMode.EHR: "launch_ehr",
    LaunchMode.PATIENT: "launch_standalone_patient",
    LaunchMode.PROVIDER: "launch_standalone_provider",
}


@dataclass(frozen=True)
class Binding:
    """What ties a launch and its session to one browser (see LaunchState)."""

    cookie_hash: str  # hash of the cookie value this browser holds (or was just given)
    presented: bool  # the browser actually sent the cookie with this request
    fingerprint_hash: str


def binding_for(*, cookie_value: str, presented: bool, client_ip: str, user_agent: str) -> Binding:
    return Binding(
        cookie_hash=lookup_hash(f"smart-bind:{cookie_value}"),
        presented=presented,
        fingerprint_hash=lookup_hash(f"smart-fp:{client_ip}|{user_agent[:300]}"),
    )


def binding_matches(*, cookie_hash: str, fingerprint_hash: str, binding: Binding) -> bool:
    """The browser that started the launch: its cookie when it sends one, else (cookies refused inside an EHR's
    cross-site iframe) the same address and user agent. A browser that sends a different cookie never matches."""
    if binding.presented:
        return secrets.compare_digest(cookie_hash, binding.cookie_hash)
    return secrets.compare_digest(fingerprint_hash, binding.fingerprint_hash)


def _audit_failure(error: LaunchError, *, tenant: Any = None, connection: Any = None, stage: str) -> None:
    detail = {"reason": error.code, "stage": stage, **error.detail}
    if error.error:
        detail["error"] = error.error
    audit.record(
        action="smart.launch",
        outcome="failure",
        actor="anonymous",
        tenant=tenant,
        target=f"connection:{connection.pk}" if connection is not None else "",
        detail=detail,
    )


# --- start -----------------------------------------------------------------------------------------------------


def resolve_ehr_launch(*, iss: str, launch: str) -> EhrConnection:
    """Checklist L1: `iss` must name an active connection of an active tenant. No network request is made
    for an unknown `iss`: the only lookup is our own database."""
    try:
        if not iss or not launch or len(iss) > 500 or len(launch) > 2000:
            raise LaunchError("missing_parameters")
        connection = tenant_selectors.find_active_connection_for_iss(iss)
        if connection is None:
            raise LaunchError("unknown_iss", detail={"iss": iss[:200]})
    except LaunchError as error:
        _audit_failure(error, stage="launch")
        raise
    return connection


AUTHORIZE_POST = "authorize-post"
_FORM_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class AuthorizeRequest:
    """Where the browser goes next (checklist L3): a GET redirect to `url`, or, with `post`, an auto-submitted
    form POSTing `params` to `endpoint` (SMART App Launch 2.2 `authorize-post`)."""

    endpoint: str
    params: dict[str, str]
    post: bool = False

    @property
    def url(self) -> str:
        separator = "&" if urlsplit(self.endpoint).query else "?"
        return f"{self.endpoint}{separator}{urlencode(self.params)}"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.endpoint)
        return f"{parts.scheme}://{parts.netloc}"


def _use_post(connection: EhrConnection, endpoint: str, capabilities: list[str]) -> bool:
    """POST only when the connection asks for it AND the server advertises it; the endpoint's origin goes into
    the page's CSP form-action, so it must be a plain scheme://host[:port]."""
    if not connection.use_authorize_post:
        return False
    if AUTHORIZE_POST not in capabilities:
        logger.warning(
            "connection %s: authorize-post is turned on but %s does not advertise it; redirecting with GET",
            connection.pk,
            connection.fhir_base_url,
        )
        return False
    parts = urlsplit(endpoint)
    if parts.query or not _FORM_ORIGIN.match(f"{parts.scheme}://{parts.netloc}"):
        logger.warning("connection %s: authorization endpoint unusable for authorize-post; using GET", connection.pk)
        return False
    return True


def start_launch(
    *, connection: EhrConnection, mode: str, binding: Binding, launch: str = "", tenant: Tenant | None = None
) -> AuthorizeRequest:
    """Record the launch state and return the authorization request to send the browser with (checklist L3-L5)."""
    tenant = tenant or connection.tenant
    try:
        return _start_launch(connection=connection, tenant=tenant, mode=mode, binding=binding, launch=launch)
    except LaunchError as error:
        _audit_failure(error, tenant=tenant, connection=connection, stage="launch")
        raise


def _configuration(connection: EhrConnection, *, refresh: bool = False) -> discovery.DiscoveryResult:
    with outbound.outbound_timer():
        try:
            return discovery.get_configuration(connection, refresh=refresh)
        except discovery.DiscoveryError as exc:
            raise LaunchError("discovery_failed", detail={"discovery": exc.code}) from None


def _start_launch(
    *, connection: EhrConnection, tenant: Tenant, mode: str, binding: Binding, launch: str
) -> AuthorizeRequest:
    if tenant.status != Tenant.Status.ACTIVE:
        raise LaunchError("tenant_inactive")
    if not getattr(connection, MODE_FLAGS[mode]):
        raise LaunchError("launch_disabled", detail={"mode": mode})
    config = _configuration(connection)
    authorize_url = config.authorization_endpoint
    if not authorize_url:
        raise LaunchError("discovery_failed", detail={"discovery": "no_authorization_endpoint"})
    scopes = requested_scopes(connection.scope_list, mode=mode, capabilities=config.capabilities)
    state = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG
    verifier, challenge = jose.pkce_pair()
    nonce = secrets.token_urlsafe(32)
    redirect_uri = tenant_selectors.redirect_uri_for(connection, tenant)
    now = timezone.now()
    with tenant_scope(tenant):
        LaunchState.objects.create(
            tenant=tenant,
            state_hash=lookup_hash(state),
            connection=connection,
            mode=mode,
            code_verifier=verifier,
            nonce=nonce,
            launch=launch or None,
            requested_scopes=" ".join(scopes),
            redirect_uri=redirect_uri,
            issuer=str(config.configuration.get("issuer") or connection.fhir_base_url),
            cookie_hash=binding.cookie_hash,
            fingerprint_hash=binding.fingerprint_hash,
            expires_at=now + timedelta(seconds=int(settings.SMART_LAUNCH_STATE_SECONDS)),
        )
    params = {
        "response_type": "code",
        "client_id": connection.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "state": state,
        "aud": connection.fhir_base_url,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "nonce": nonce,
    }
    if mode == LaunchMode.EHR:
        params["launch"] = launch
    post = _use_post(connection, authorize_url, config.capabilities)
    return AuthorizeRequest(endpoint=authorize_url, params=params, post=post)


def standalone_connection(*, tenant: Tenant, mode: str, connection_id: Any = None) -> EhrConnection:
    """The connection a per-tenant standalone launch uses: the one named, else the first that enables the mode."""
    flag = MODE_FLAGS[mode]
    with tenant_scope(tenant):
        connections = EhrConnection.objects.filter(tenant=tenant, **{flag: True})
        if connection_id not in (None, ""):
            try:
                connections = connections.filter(pk=int(connection_id))
            except (TypeError, ValueError):
                connections = connections.none()
        connection = connections.order_by("label", "pk").first()
    if connection is None:
        error = LaunchError("launch_disabled", detail={"mode": mode})
        _audit_failure(error, tenant=tenant, stage="launch")
        raise error
    connection.tenant = tenant
    return connection


# --- callback --------------------------------------------------------------------------------------------------


@dataclass
class LaunchResult:
    grant: TokenGrant
    session: SmartSession
    handle: str  # the opaque session handle (only ever in the URL path and the browser)


def complete_launch(*, tenant: Tenant, connection_id: int, params: dict[str, str], binding: Binding) -> LaunchResult:
    """Checklist T1-T7: check the state, exchange the code, validate the id_token, keep the grant."""
    state_row: LaunchState | None = None
    try:
        state_row = _consume_state(tenant=tenant, connection_id=connection_id, params=params, binding=binding)
        result = _finish(tenant=tenant, row=state_row, params=params, binding=binding)
    except LaunchError as error:
        connection = state_row.connection if state_row is not None else None
        _audit_failure(error, tenant=tenant, connection=connection, stage="callback")
        if connection is not None and error.code in REDISCOVER_ON:
            # Checklist C4: a launch that failed at the EHR re-reads its configuration next time (keys, endpoints).
            discovery.invalidate(connection)
        raise
    return result


def _consume_state(*, tenant: Tenant, connection_id: int, params: dict[str, str], binding: Binding) -> LaunchState:
    """Checklist T2 (before any token request): unknown, reused, expired, other-browser and other-connection
    states are refused; a good one is consumed exactly once by a compare-and-swap UPDATE."""
    state = params.get("state") or ""
    if not state or len(state) > 512:
        raise LaunchError("state_unknown")
    now = timezone.now()
    # One short transaction for the read and the compare-and-swap; it commits before any request to the EHR.
    with tenant_scope(tenant), transaction.atomic():
        row = LaunchState.objects.filter(state_hash=lookup_hash(state)).select_related("connection").first()
        if row is None:
            raise LaunchError("state_unknown")
        if row.used_at is not None:
            raise LaunchError("state_used")
        if row.expires_at <= now:
            raise LaunchError("state_expired")
        if not binding_matches(cookie_hash=row.cookie_hash, fingerprint_hash=row.fingerprint_hash, binding=binding):
            # Not consumed: the browser that did start this launch may still finish it.
            raise LaunchError("state_other_browser")
        claimed = LaunchState.objects.filter(pk=row.pk, used_at=None, expires_at__gt=now).update(used_at=now) == 1
        if not claimed:
            raise LaunchError("state_used")
        row.connection.tenant = tenant
    if row.connection_id != connection_id:
        # Mix-up defence (RFC 9700 §4.4): the answer reached the redirect URI of another connection. Raised after
        # the commit: the state stays spent, the compromised flow cannot be finished elsewhere.
        raise LaunchError("wrong_redirect", detail={"expected": row.connection_id, "got": connection_id})
    return row


def _oauth_error_code(value: str | None) -> str:
    return value if value and _OAUTH_ERROR.match(value) else "invalid_response"


def _finish(*, tenant: Tenant, row: LaunchState, params: dict[str, str], binding: Binding) -> LaunchResult:
    connection = row.connection
    config = _configuration(connection)
    if config.configuration.get("authorization_response_iss_parameter_supported"):
        # RFC 9207 §2.4: when the server says it sends `iss`, it must be there and be the issuer we used.
        if params.get("iss") != row.issuer:
            raise LaunchError("issuer_mismatch")
    elif params.get("iss") and params["iss"] != row.issuer:
        raise LaunchError("issuer_mismatch")
    if params.get("error"):
        code = _oauth_error_code(params.get("error"))
        if code == "access_denied":
            raise LaunchError("access_denied", error=code)
        raise LaunchError("ehr_error", error=code)
    code = params.get("code") or ""
    if not code or len(code) > 2048:
        raise LaunchError("ehr_error", error="missing_code")
    body = _token_request(
        connection=connection,
        tenant=tenant,
        config=config,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": row.redirect_uri,
            "code_verifier": row.code_verifier,
        },
    )
    token = _check_token_response(body)
    claims: dict[str, Any] = {}
    if "openid" in row.requested_scopes.split() and body.get("id_token"):
        try:
            claims = jose.validate_id_token(
                id_token=str(body["id_token"]),
                jwks_uri=jose.jwks_uri_for(configuration=config.configuration, issuer=row.issuer),
                issuer=row.issuer,
                client_id=connection.client_id,
                nonce=row.nonce,
            )
        except jose.IdTokenError as exc:
            raise LaunchError("id_token_invalid", detail={"check": exc.reason}) from None
    elif "openid" in token["granted"]:
        raise LaunchError("id_token_invalid", detail={"check": "missing"})
    return _save_launch(tenant=tenant, row=row, body=body, token=token, claims=claims, binding=binding)


def _client_auth(
    *, connection: EhrConnection, tenant: Tenant, config: discovery.DiscoveryResult, data: dict[str, str], backend: bool
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """Checklist T3: client authentication per connection."""
    data = dict(data)
    client_id = (connection.backend_client_id or connection.client_id) if backend else connection.client_id
    method = EhrConnection.ClientAuth.PRIVATE_KEY_JWT if backend else connection.client_auth_method
    if method == EhrConnection.ClientAuth.PRIVATE_KEY_JWT:
        alg = jose.choose_assertion_alg(config.configuration.get("token_endpoint_auth_signing_alg_values_supported"))
        data["client_assertion_type"] = jose.ASSERTION_TYPE
        data["client_assertion"] = jose.client_assertion(
            tenant=tenant, client_id=client_id, audience=config.token_endpoint, alg=alg
        )
        return data, None
    if method == EhrConnection.ClientAuth.CLIENT_SECRET_BASIC:
        # RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
        from urllib.parse import quote

        return data, (quote(client_id, safe=""), quote(connection.client_secret or "", safe=""))
    data["client_id"] = client_id
    return data, None


def _token_request(
    *, connection: EhrConnection, tenant: Tenant, config: discovery.DiscoveryResult, data: dict[str, str],
    backend: bool = False,
) -> dict[str, Any]:  # fmt: skip
    data, auth = _client_auth(connection=connection, tenant=tenant, config=config, data=data, backend=backend)
    try:
        response = outbound.request(
            "POST", config.token_endpoint, data=data, auth=auth, headers={"Accept": "application/json"}
        )
    except outbound.OutboundError as exc:
        raise LaunchError("token_error", error="unreachable", detail={"transport": exc.reason}) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        code = _oauth_error_code(body.get("error") if isinstance(body, dict) else None)
        raise LaunchError("token_error", error=code, detail={"status": response.status_code})
    return body


def _check_token_response(body: dict[str, Any]) -> dict[str, Any]:
    """Checklist T4: access_token, token_type Bearer (any case) and scope are required."""
    access = body.get("access_token")
    token_type = body.get("token_type")
    scope = body.get("scope")
    if not isinstance(access, str) or not access:
        raise LaunchError("token_response_invalid", detail={"missing": "access_token"})
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise LaunchError("token_response_invalid", detail={"missing": "token_type"})
    if not isinstance(scope, str) or not scope.strip():
        raise LaunchError("token_response_invalid", detail={"missing": "scope"})
    expires_in = body.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = timezone.now() + timedelta(seconds=int(expires_in))
    refresh = body.get("refresh_token")
    return {
        "access": access,
        "refresh": refresh if isinstance(refresh, str) and refresh else None,
        "granted": scope.split(),
        "expires_at": expires_at,
    }


def _context_value(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) and _SAFE_CONTEXT.match(value) else ""


def resolve_fhir_user(value: Any, fhir_base: str) -> str:
    """`fhirUser` may be absolute or relative (SMART §scopes-and-launch-context): resolve it against the base."""
    if not isinstance(value, str) or not value or len(value) > 500:
        return ""
    return urljoin(fhir_base.rstrip("/") + "/", value)


def _identity(tenant: Tenant, fhir_user: str) -> SmartIdentity:
    """One user record per (tenant, fhirUser), for audit; the password is unusable (never signs in)."""
    identity = SmartIdentity.objects.filter(tenant=tenant, fhir_user=fhir_user).select_related("user").first()
    if identity is not None:
        return identity
    user_model = get_user_model()
    username = f"smart-{tenant.pk}-{lookup_hash(f'fhir-user:{tenant.pk}:{fhir_user}')[:24]}"
    try:
        with transaction.atomic():
            user, _created = user_model.objects.get_or_create(username=username, defaults={"is_active": True})
            if user.has_usable_password():
                user.set_unusable_password()
                user.save(update_fields=["password"])
            return SmartIdentity.objects.create(tenant=tenant, fhir_user=fhir_user, user=user)
    except IntegrityError:  # a concurrent first launch of the same user
        return SmartIdentity.objects.select_related("user").get(tenant=tenant, fhir_user=fhir_user)


def _save_launch(
    *, tenant: Tenant, row: LaunchState, body: dict[str, Any], token: dict[str, Any], claims: dict[str, Any],
    binding: Binding,
) -> LaunchResult:  # fmt: skip
    connection = row.connection
    fhir_user = resolve_fhir_user(claims.get("fhirUser"), connection.fhir_base_url)
    fhir_context = body.get("fhirContext")
    if not isinstance(fhir_context, list):
        fhir_context = []
    banner = body.get("need_patient_banner")
    style = body.get("smart_style_url")
    now = timezone.now()
    handle = secrets.token_urlsafe(32)
    with tenant_scope(tenant), transaction.atomic():
        identity = _identity(tenant, fhir_user)
        SmartIdentity.objects.filter(pk=identity.pk).update(last_launch_at=now)
        grant = TokenGrant.objects.create(
            tenant=tenant,
            connection=connection,
            identity=identity,
            mode=row.mode,
            access_token=token["access"],
            refresh_token=token["refresh"],
            id_token=str(body.get("id_token") or "") or None,
            token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
            expires_at=token["expires_at"],
            requested_scopes=row.requested_scopes,
            granted_scopes=" ".join(token["granted"]),
            fhir_base_url=connection.fhir_base_url,
            fhir_user=fhir_user,
            id_token_sub=str(claims.get("sub") or "")[:255],
            patient=_context_value(body, "patient"),
            encounter=_context_value(body, "encounter"),
            fhir_context=[item for item in fhir_context if isinstance(item, dict)][:50],
            need_patient_banner=banner if isinstance(banner, bool) else None,
            smart_style_url=style if isinstance(style, str) and style.startswith(("https://", "http://")) else "",
            intent=str(body.get("intent") or "")[:255],
            launch_tenant=str(body.get("tenant") or "")[:255],
        )
        session = SmartSession.objects.create(
            tenant=tenant,
            handle_hash=lookup_hash(f"smart-session:{handle}"),
            grant=grant,
            identity=identity,
            patient=grant.patient,
            cookie_hash=binding.cookie_hash if binding.presented else row.cookie_hash,
            fingerprint_hash=binding.fingerprint_hash,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=int(settings.SMART_SESSION_MAX_SECONDS)),
        )
        # The launch state has done its job; drop its secrets now rather than waiting for the purge.
        LaunchState.objects.filter(pk=row.pk).update(launch=None)
        # In the same transaction (one commit for the whole outcome).
        audit.record(
            action="smart.launch",
            outcome="success",
            actor=identity.user,
            tenant=tenant,
            target=f"grant:{grant.pk}",
            patient=f"Patient/{grant.patient}" if grant.patient else "",
            detail={
                "connection": grant.connection_id,
                "mode": grant.mode,
                "fhir_user": grant.fhir_user,
                "granted_scopes": grant.granted_scope_list,
                "missing_scopes": grant.missing_scopes,
            },
        )
    grant.identity = identity
    return LaunchResult(grant=grant, session=session, handle=handle)


# --- sessions --------------------------------------------------------------------------------------------------


def session_for_handle(*, tenant: Tenant, handle: str, binding: Binding) -> SmartSession:
    """The live session behind a URL handle, for this browser; touches its idle timer."""
    if not handle or len(handle) > 100:
        raise LaunchError("session_expired")
    now = timezone.now()
    idle = timedelta(seconds=int(settings.SMART_SESSION_IDLE_SECONDS))
    with tenant_scope(tenant):
        session = (
            SmartSession.objects.filter(handle_hash=lookup_hash(f"smart-session:{handle}"), ended_at=None)
            .select_related("grant", "grant__connection", "identity")
            .first()
        )
        if (
            session is None
            or session.expires_at <= now
            or session.last_seen_at + idle <= now
            or not binding_matches(
                cookie_hash=session.cookie_hash, fingerprint_hash=session.fingerprint_hash, binding=binding
            )
        ):
            raise LaunchError("session_expired")
        if now - session.last_seen_at > timedelta(seconds=30):
            SmartSession.objects.filter(pk=session.pk).update(last_seen_at=now)
    return session


def session_by_id(*, tenant_id: int, session_id: int) -> SmartSession | None:
    now = timezone.now()
    with tenant_scope(tenant_id):
        session = (
            SmartSession.objects.filter(pk=session_id, ended_at=None, expires_at__gt=now)
            .select_related("grant", "grant__connection", "identity")
            .first()
        )
    if session is None or session.last_seen_at + timedelta(seconds=int(settings.SMART_SESSION_IDLE_SECONDS)) <= now:
        return None
    return session


# --- refresh ---------------------------------------------------------------------------------------------------


class GrantEnded(Exception):
    """The grant can no longer be used (refresh refused, revoked): the user must launch again."""


class RefreshFailed(Exception):
    """A transient refresh failure (EHR unreachable, 5xx): the grant is kept, try again later."""


_process_locks: dict[int, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _process_lock(grant_id: int) -> threading.Lock:
    # SQLite (the embedded mode) has no row locks; threads of one process serialise here instead.
    with _process_locks_guard:
        return _process_locks.setdefault(grant_id, threading.Lock())


def refresh_grant(
    *, tenant_id: int, grant_id: int, seen_version: int | None = None, reason: str = "expiry"
) -> TokenGrant:
    """Checklist R1/R2: one HTTP refresh at a time per grant.

    The row is locked (SELECT … FOR UPDATE) for the duration of the refresh — the one transaction allowed
    across an HTTP call — so concurrent callers wait, re-read, and skip when `token_version` moved on
    (someone else refreshed). A rotated refresh token replaces the old one in the same transaction;
    `invalid_grant` marks the grant as needing a new launch and is never retried.
    """
    lock = nullcontext() if db_connection.features.has_select_for_update else _process_lock(grant_id)
    with lock, tenant_scope(tenant_id), transaction.atomic():
        grant = TokenGrant.objects.select_for_update().filter(pk=grant_id).first()
        if grant is None:
            raise GrantEnded("no such grant")
        if seen_version is not None and grant.token_version != seen_version:
            return grant
        if grant.status != TokenGrant.Status.ACTIVE:
            raise GrantEnded(grant.status)
        if not grant.refresh_token:
            _mark_needs_relaunch(grant, "no_refresh_token")
            return grant
        connection = EhrConnection.objects.select_related("tenant").get(pk=grant.connection_id)
        try:
            config = _configuration(connection)
            body = _token_request(
                connection=connection,
                tenant=connection.tenant,
                config=config,
                data={"grant_type": "refresh_token", "refresh_token": grant.refresh_token},
            )
            token = _check_token_response(body)
        except LaunchError as error:
            if error.error == "invalid_grant":
                _mark_needs_relaunch(grant, "invalid_grant")
                return grant
            audit.record(
                action="smart.token_refresh",
                outcome="failure",
                actor="system",
                tenant=tenant_id,
                target=f"grant:{grant.pk}",
                detail={"reason": reason, "error": error.error or error.code, **error.detail},
            )
            raise RefreshFailed(error.error or error.code) from None
        grant.access_token = token["access"]
        if token["refresh"]:
            grant.refresh_token = token["refresh"]  # rotation: the old one is gone with this save
        grant.expires_at = token["expires_at"]
        grant.granted_scopes = " ".join(token["granted"])
        grant.token_version += 1
        grant.refresh_count += 1
        grant.refreshed_at = timezone.now()
        grant.save(
            update_fields=[
                "access_token",
                "refresh_token",
                "expires_at",
                "granted_scopes",
                "token_version",
                "refresh_count",
                "refreshed_at",
            ]
        )
        audit.record(
            action="smart.token_refresh",
            actor="system",
            tenant=tenant_id,
            target=f"grant:{grant.pk}",
            detail={"reason": reason, "rotated": bool(token["refresh"]), "version": grant.token_version},
        )
    return grant


def _mark_needs_relaunch(grant: TokenGrant, reason: str) -> None:
    now = timezone.now()
    TokenGrant.objects.filter(pk=grant.pk).update(
        status=TokenGrant.Status.NEEDS_RELAUNCH,
        access_token=None,
        refresh_token=None,
        ended_at=now,
        end_reason=reason,
    )
    grant.status = TokenGrant.Status.NEEDS_RELAUNCH
    grant.access_token = grant.refresh_token = None
    audit.record(
        action="smart.token_refresh",
        outcome="failure",
        actor="system",
        tenant=grant.tenant_id,
        target=f"grant:{grant.pk}",
        detail={"reason": reason, "needs_relaunch": True},
    )


def grants_due_for_refresh() -> list[tuple[int, int, int]]:
    """(tenant id, grant id, token version) of active grants with a refresh token expiring soon (cross-tenant)."""
    horizon = timezone.now() + timedelta(seconds=int(settings.SMART_REFRESH_AHEAD_SECONDS))
    with all_tenants():
        rows = TokenGrant.objects.filter(
            status=TokenGrant.Status.ACTIVE,
            expires_at__lte=horizon,
            refresh_token__isnull=False,
            tenant__status=Tenant.Status.ACTIVE,
        ).values_list("tenant_id", "pk", "token_version")
        return list(rows)


def purge_expired_launch_states() -> int:
    """Launch states past their expiry (plus a day for investigations) hold nothing useful."""
    cutoff = timezone.now() - timedelta(days=1)
    with all_tenants():
        deleted, _ = LaunchState.objects.filter(expires_at__lt=cutoff).delete()
    return deleted


# --- ending: logout, suspension --------------------------------------------------------------------------------


def end_grant(*, tenant_id: int, grant_id: int, reason: str, actor: Any = None) -> bool:
    """Checklist R3: wipe the tokens locally (first, so nothing can use them), then revoke them at the EHR
    when it offers a revocation endpoint (RFC 7009). Returns True when the EHR confirmed the revocation."""
    now = timezone.now()
    with tenant_scope(tenant_id), transaction.atomic():
        grant = TokenGrant.objects.select_for_update().filter(pk=grant_id).first()
        if grant is None:
            return False
        tokens = [(grant.refresh_token, "refresh_token"), (grant.access_token, "access_token")]
        TokenGrant.objects.filter(pk=grant.pk).update(
            status=TokenGrant.Status.REVOKED,
            access_token=None,
            refresh_token=None,
            id_token=None,
            ended_at=now,
            end_reason=reason[:64],
        )
        SmartSession.objects.filter(grant_id=grant.pk, ended_at=None).update(ended_at=now)
        connection = EhrConnection.objects.select_related("tenant").get(pk=grant.connection_id)
    revoked = _revoke_at_ehr(connection=connection, tokens=[t for t in tokens if t[0]])
    audit.record(
        action="smart.grant_ended",
        actor=actor or "system",
        tenant=tenant_id,
        target=f"grant:{grant_id}",
        detail={"reason": reason, "revoked_at_ehr": revoked},
    )
    return revoked


def _revoke_at_ehr(*, connection: EhrConnection, tokens: list[tuple[str, str]]) -> bool:
    if not tokens:
        return False
    try:
        config = _configuration(connection)
    except LaunchError:
        return False
    endpoint = config.configuration.get("revocation_endpoint")
    if not endpoint:
        return False
    ok = True
    for value, hint in tokens:
        data, auth = _client_auth(
            connection=connection,
            tenant=connection.tenant,
            config=config,
            data={"token": value, "token_type_hint": hint},
            backend=False,
        )
        try:
            response = outbound.request("POST", endpoint, data=data, auth=auth)
            ok = ok and response.status_code == 200
        except outbound.OutboundError as exc:
            logger.warning("revocation at %s failed: %s", urlsplit(endpoint).netloc, exc.reason)
            ok = False
    return ok


def end_session(*, tenant_id: int, session: SmartSession, actor: Any = None) -> bool:
    """Logout: end the session and its grant (revoking the tokens at the EHR)."""
    return end_grant(tenant_id=tenant_id, grant_id=session.grant_id, reason="logout", actor=actor)


def revoke_tenant_grants(*, tenant_id: int) -> int:
    """Tenant suspension: end every live grant of the tenant (revoking at the EHR), wipe the tokens."""
    with tenant_scope(tenant_id):
        ids = list(
            TokenGrant.objects.filter(tenant_id=tenant_id)
            .exclude(status=TokenGrant.Status.REVOKED)
            .values_list("pk", flat=True)
        )
    for grant_id in ids:
        end_grant(tenant_id=tenant_id, grant_id=grant_id, reason="tenant_suspended")
    return len(ids)


def on_tenant_suspended(*, tenant_id: int) -> None:
    """Hook for the tenants app (connected to Tenant post_save): revoke after the suspension commits."""
    from apps.smart import tasks

    tasks.revoke_tenant_grants.enqueue_on_commit(tenant_id)


# --- backend services ------------------------------------------------------------------------------------------


def system_token(*, connection: EhrConnection, scopes: str = "system/*.rs") -> str:
    """Checklist B1: client_credentials with a JWT assertion; cached (encrypted) until 60 s before expiry."""
    tenant = connection.tenant
    key = f"smart:system-token:{tenant.pk}:{connection.pk}:{lookup_hash(scopes)[:16]}"
    cached = cache.get(key)
    if cached:
        try:
            return decrypt(cached)
        except Exception:  # a key rotation makes old cache entries unreadable: fetch anew
            cache.delete(key)
    if not connection.launch_backend_services:
        raise LaunchError("launch_disabled", detail={"mode": "backend"})
    config = _configuration(connection)
    body = _token_request(
        connection=connection,
        tenant=tenant,
        config=config,
        data={"grant_type": "client_credentials", "scope": scopes},
        backend=True,
    )
    access = body.get("access_token")
    token_type = body.get("token_type")
    if not isinstance(access, str) or not access or not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise LaunchError("token_response_invalid")
    expires_in = body.get("expires_in")
    lifetime = int(expires_in) if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) else 300
    if lifetime - 60 > 0:
        cache.set(key, encrypt(access), lifetime - 60)
    audit.record(
        action="smart.system_token",
        actor="system",
        tenant=tenant,
        target=f"connection:{connection.pk}",
        detail={"scope": body.get("scope", "")},
    )
    return access
