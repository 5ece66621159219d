"""The demo: the sandbox EHR's data and sign-ins, and "Demo Hospital / 示範醫院" wired to it.

Idempotent: running it again keeps existing passwords, keys and data (pass reset_sandbox=True to regenerate
the synthetic records). Passwords are generated here, never committed, and kept in DATA_DIR/demo_logins.json
(mode 0600) so `make demo` and the home page can show them to a reviewer.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.core.models import Tenant
from apps.core.tenancy import tenant_scope

DEMO_SLUG = "demo"
DEMO_CONNECTION_LABEL = "Sandbox EHR"
DEMO_CLIENT_ID = "carelaunch-demo-rs384"
DEMO_BACKEND_CLIENT_ID = "carelaunch-demo-backend"
DEMO_SCOPES = "launch launch/patient launch/encounter openid fhirUser offline_access patient/*.rs user/*.rs"


def logins_path() -> Path:
    return Path(settings.DATA_DIR) / "demo_logins.json"


def read_logins() -> dict[str, Any]:
    """What the home page shows a reviewer: CareLaunch and sandbox sign-ins. Empty when nothing was seeded."""
    try:
        return json.loads(logins_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_logins(data: dict[str, Any]) -> None:
    path = logins_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)


def _ensure_user(username: str, known: dict[str, str], **fields: Any) -> str:
    """Create or update a demo account; returns its password (kept from the previous run when there was one)."""
    password = known.get(username) or secrets.token_urlsafe(12)
    user, _created = get_user_model().objects.update_or_create(username=username, defaults=fields)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return password


def _sandbox_is_empty() -> bool:
    from apps.sandbox.models import SandboxResource

    return not SandboxResource.objects.exists()


def seed(*, reset_sandbox: bool = False, stdout: Any = None) -> dict[str, Any]:
    from apps.tenants import selectors as tenant_selectors
    from apps.tenants import services as tenant_services
    from apps.tenants.models import EhrConnection, Membership, Role

    if reset_sandbox or _sandbox_is_empty():
        call_command("seed_sandbox", stdout=stdout)

    known = {row["username"]: row["password"] for row in read_logins().get("carelaunch", [])}
    it_password = _ensure_user("demo-it", known, email="it@demo-hospital.example", first_name="Demo IT")
    staff_password = _ensure_user(
        "demo-staff", known, email="staff@carelaunch.example", first_name="Demo staff", is_staff=True,
        is_superuser=True,
    )  # fmt: skip
    it_user = get_user_model().objects.get(username="demo-it")

    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        tenant = tenant_services.create_tenant(
            slug=DEMO_SLUG, name_en="Demo Hospital", name_zh_hant="示範醫院", owner=it_user
        )
    with tenant_scope(tenant):
        Membership.objects.get_or_create(tenant=tenant, user=it_user, defaults={"role": Role.OWNER})
        tenant_services.ensure_keys(tenant=tenant)
        connection = tenant_selectors.get_connection_by_label(tenant, DEMO_CONNECTION_LABEL)
    connection = tenant_services.save_connection(
        tenant=tenant,
        connection=connection,
        data={
            "label": DEMO_CONNECTION_LABEL,
            "environment": EhrConnection.Environment.SANDBOX,
            "fhir_base_url": f"{settings.SANDBOX_PUBLIC_URL}/sandbox/fhir",
            "fhir_version": "4.0.1",
            "client_id": DEMO_CLIENT_ID,
            "client_auth_method": EhrConnection.ClientAuth.PRIVATE_KEY_JWT,
            "scopes": DEMO_SCOPES,
            "launch_ehr": True,
            "launch_standalone_patient": True,
            "launch_standalone_provider": True,
            "launch_backend_services": True,
            "backend_client_id": DEMO_BACKEND_CLIENT_ID,
            "frame_ancestors": settings.SANDBOX_PUBLIC_URL,
        },
    )
    if tenant.status != Tenant.Status.ACTIVE:
        tenant_services.activate_tenant(tenant=tenant)

    with tenant_scope(tenant):
        redirect_uri = tenant_selectors.redirect_uri_for(connection, tenant)
        jwks_url = tenant_selectors.jwks_url_for(tenant)
    call_command("seed_sandbox_auth", redirect_uri=[redirect_uri], jwks_url=jwks_url, stdout=stdout)

    sandbox_logins_file = Path(settings.DATA_DIR) / "sandbox_logins.json"
    try:
        sandbox_logins = json.loads(sandbox_logins_file.read_text())
    except (OSError, ValueError):
        sandbox_logins = []
    data = {
        "carelaunch": [
            {"role": "hospital-it", "username": "demo-it", "password": it_password},
            {"role": "staff", "username": "demo-staff", "password": staff_password},
        ],
        "sandbox": sandbox_logins,
        "tenant": DEMO_SLUG,
        "iss": connection.fhir_base_url,
    }
    _write_logins(data)
    return data
