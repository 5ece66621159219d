"""Reads for the SMART client pages."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from apps.core.models import Tenant
from apps.core.tenancy import all_tenants
from apps.tenants.models import EhrConnection

# 身分證字號 (Taiwan national ID): one letter, 1/2 (or A-D / 8-9 for residents), eight digits.
_TW_NATIONAL_ID = re.compile(r"^[A-Z][1289ABCD]\d{8}$")
NATIONAL_ID_TYPES = {"NI", "NNTWN", "NIIP", "PPN-TW"}
MRN_TYPES = {"MR"}


def tenants_offering_patient_launch() -> list[Tenant]:
    """The "choose your hospital" list: active tenants with a connection enabling standalone patient launch.
    An explicit cross-tenant read of public facts (names and slugs only)."""
    with all_tenants():
        offering = EhrConnection.objects.filter(tenant=OuterRef("pk"), launch_standalone_patient=True)
        return list(Tenant.objects.filter(status=Tenant.Status.ACTIVE).filter(Exists(offering)).order_by("slug"))


def mask_national_id(value: str) -> str:
    """A12****789: enough to recognise, not enough to misuse."""
    if len(value) <= 6:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 6)}{value[-3:]}"


def _codes(identifier: dict[str, Any]) -> set[str]:
    type_ = identifier.get("type") if isinstance(identifier.get("type"), dict) else {}
    return {str(c.get("code")) for c in type_.get("coding") or [] if isinstance(c, dict) and c.get("code")}


def _identifier_row(identifier: dict[str, Any]) -> dict[str, str] | None:
    value = identifier.get("value")
    if not isinstance(value, str) or not value:
        return None
    codes = _codes(identifier)
    system = str(identifier.get("system") or "")
    if codes & NATIONAL_ID_TYPES or "moi.gov.tw" in system or _TW_NATIONAL_ID.match(value):
        return {"label": _("National ID (身分證字號)"), "value": mask_national_id(value)}
    if codes & MRN_TYPES:
        return {"label": _("Medical record number (病歷號)"), "value": value}
    text = identifier.get("type", {}).get("text") if isinstance(identifier.get("type"), dict) else ""
    return {"label": str(text or _("Identifier")), "value": value}


def _name(patient: dict[str, Any]) -> str:
    names = [n for n in patient.get("name") or [] if isinstance(n, dict)]
    if not names:
        return ""
    official = next((n for n in names if n.get("use") == "official"), names[0])
    if official.get("text"):
        return str(official["text"])
    given = " ".join(str(g) for g in official.get("given") or [])
    family = str(official.get("family") or "")
    # Chinese names are written family-name first, with no space.
    if re.search(r"[\u4e00-\u9fff]", family + given):
        return f"{family}{given.replace(' ', '')}"
    return " ".join(part for part in (given, family) if part)


def patient_banner(patient: dict[str, Any]) -> dict[str, Any]:
    gender = str(patient.get("gender") or "")
    labels = {"male": _("Male"), "female": _("Female"), "other": _("Other"), "unknown": _("Unknown")}
    rows = [_identifier_row(i) for i in patient.get("identifier") or [] if isinstance(i, dict)]
    return {
        "name": _name(patient),
        "birth_date": str(patient.get("birthDate") or ""),
        "sex": labels.get(gender, gender),
        "identifiers": [row for row in rows if row],
    }
