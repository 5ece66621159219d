"""Reads from the sandbox EHR's resource store."""

from __future__ import annotations

from apps.sandbox.fhir.search import access_q
from apps.sandbox.models import SandboxResource
from apps.sandbox.scopes import Decision


def readable_resource(*, resource_type: str, logical_id: str, decision: Decision) -> SandboxResource | None:
    """The resource if it exists AND the decision lets the grant see it; None for both "absent" and "not yours"."""
    qs = SandboxResource.objects.filter(resource_type=resource_type, logical_id=logical_id)
    limit = access_q(resource_type, decision)
    if limit is not None:
        qs = qs.filter(limit)
    return qs.only("text", "version_id", "last_updated").first()


def patient_exists(patient_id: str) -> bool:
    return SandboxResource.objects.filter(resource_type="Patient", logical_id=patient_id).exists()


def group_members(group_id: str) -> list[str] | None:
    """Patient ids that are members of Group/<group_id>; None when there is no such Group."""
    import json

    from apps.sandbox.fhir.indexing import patient_ref_id

    row = SandboxResource.objects.filter(resource_type="Group", logical_id=group_id).only("text").first()
    if row is None:
        return None
    group = json.loads(row.text)
    members = []
    for member in group.get("member", []) or []:
        if isinstance(member, dict):
            patient_id = patient_ref_id(member.get("entity"))
            if patient_id:
                members.append(patient_id)
    return members
