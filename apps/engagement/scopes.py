"""What a grant's scopes allow, from the client's side (SMART App Launch 2.2 §scopes-and-launch-context):
v1 `patient/Observation.read|write|*` and v2 `patient/Observation.cruds` (granular `?…` suffixes count as
partial access: we try, and a refusal shows as "not available")."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SCOPE = re.compile(r"^(patient|user)/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)(?:\?.*)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}


def allows(scopes: Iterable[str], resource_type: str, letter: str) -> bool:
    """Does any patient/ or user/ scope grant `letter` (c r u d s) on `resource_type`?"""
    for scope in scopes:
        match = _SCOPE.match(scope.strip())
        if not match:
            continue
        _context, rtype, action = match.groups()
        if rtype not in ("*", resource_type):
            continue
        letters = _V1.get(action, action)
        if letter in letters:
            return True
    return False


def can_read(scopes: Iterable[str], resource_type: str) -> bool:
    scopes = list(scopes)
    return allows(scopes, resource_type, "r") or allows(scopes, resource_type, "s")


def can_create(scopes: Iterable[str], resource_type: str) -> bool:
    return allows(scopes, resource_type, "c")
