"""Which scopes to ask for (SMART App Launch 2.2 §scopes-and-launch-context; checklist L2, L5)."""

from __future__ import annotations

import re

from apps.smart.models import LaunchMode

# patient/Observation.read, user/*.write, system/Patient.*  (v1)  |  patient/Observation.rs?category=x  (v2)
_RESOURCE_SCOPE = re.compile(r"^(patient|user|system)/([A-Za-z*]+)\.([A-Za-z*]+)(\?.*)?$")
V1_TO_V2 = {"read": "rs", "write": "cud", "*": "cruds"}
CONTEXT_SCOPES = {"launch", "launch/patient", "launch/encounter"}


def _v2_to_v1(permissions: str) -> str | None:
    letters = set(permissions)
    if not letters or not letters <= set("cruds"):
        return None
    reads = bool(letters & {"r", "s"})
    writes = bool(letters & {"c", "u", "d"})
    if reads and writes:
        return "*"
    return "read" if reads else "write"


def convert(scope: str, *, v2: bool) -> str:
    """One resource scope in the syntax the server understands; other scopes unchanged."""
    match = _RESOURCE_SCOPE.match(scope)
    if not match:
        return scope
    context, resource, permissions, query = match.groups()
    if v2:
        if permissions in V1_TO_V2:
            permissions = V1_TO_V2[permissions]
        return f"{context}/{resource}.{permissions}{query or ''}"
    if permissions in V1_TO_V2:
        return f"{context}/{resource}.{permissions}"
    v1 = _v2_to_v1(permissions)
    # A v1 server cannot express a granular query (`?category=`): ask for the type as a whole.
    return f"{context}/{resource}.{v1}" if v1 else scope


def requested_scopes(configured: list[str], *, mode: str, capabilities: list[str]) -> list[str]:
    """The connection's scopes, adapted to the server's syntax and to the launch mode, with identity scopes."""
    v2 = "permission-v2" in capabilities
    result: list[str] = []
    for scope in configured:
        if scope in CONTEXT_SCOPES:
            continue  # set below, per launch mode
        converted = convert(scope, v2=v2)
        if converted not in result:
            result.append(converted)
    # Standalone: ask the EHR to establish a patient (a patient's own record, or the provider's picker).
    context = ["launch"] if mode == LaunchMode.EHR else ["launch/patient"]
    for scope in ["openid", "fhirUser", *context]:
        if scope not in result:
            result.append(scope)
    return result
