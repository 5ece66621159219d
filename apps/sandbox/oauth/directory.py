"""Who is who in the sandbox EHR: patients, practitioners and encounters, read from the FHIR store
(apps.sandbox.models.SandboxResource, owned by the FHIR API) for the picker, consent and simulator pages."""

from __future__ import annotations

import json
from dataclasses import dataclass

MRN_TYPE_CODES = {"MR"}
MAX_RESULTS = 50


@dataclass(frozen=True)
class Person:
    resource_type: str
    logical_id: str
    name: str  # every name joined, e.g. "王小明 / Wang, Xiao-Ming"
    mrn: str
    birth_date: str
    gender: str

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.logical_id}"


def _names(resource: dict) -> list[str]:
    names = []
    for name in resource.get("name") or []:
        if not isinstance(name, dict):
            continue
        text = name.get("text")
        if not text:
            given = " ".join(g for g in name.get("given") or [] if isinstance(g, str))
            family = name.get("family") or ""
            text = f"{family}, {given}".strip(", ") if given and family else (family or given)
        if text and text not in names:
            names.append(text)
    return names


def _mrn(resource: dict) -> str:
    for identifier in resource.get("identifier") or []:
        if not isinstance(identifier, dict):
            continue
        codings = (identifier.get("type") or {}).get("coding") or []
        if any(isinstance(c, dict) and c.get("code") in MRN_TYPE_CODES for c in codings):
            return str(identifier.get("value") or "")
    return ""


def _person(resource_type: str, logical_id: str, text: str) -> Person:
    try:
        resource = json.loads(text)
    except ValueError:
        resource = {}
    return Person(
        resource_type=resource_type,
        logical_id=logical_id,
        name=" / ".join(_names(resource)) or logical_id,
        mrn=_mrn(resource),
        birth_date=str(resource.get("birthDate") or ""),
        gender=str(resource.get("gender") or ""),
    )


def _rows(resource_type: str, patient_id: str | None = None):
    from apps.sandbox.models import SandboxResource

    queryset = SandboxResource.objects.filter(resource_type=resource_type)
    if patient_id is not None:
        queryset = queryset.filter(patient_id=patient_id)
    return queryset.order_by("logical_id").values_list("logical_id", "text")


def search_patients(query: str = "") -> list[Person]:
    """Patients whose name (any language) or 病歷號 contains `query`; all of them when it is blank."""
    needle = query.strip().casefold()
    people = []
    for logical_id, text in _rows("Patient"):
        person = _person("Patient", logical_id, text)
        if needle and needle not in person.name.casefold() and needle not in person.mrn.casefold():
            continue
        people.append(person)
        if len(people) >= MAX_RESULTS:
            break
    return people


def get_patient(logical_id: str) -> Person | None:
    from apps.sandbox.models import SandboxResource

    row = SandboxResource.objects.filter(resource_type="Patient", logical_id=logical_id).values_list("text").first()
    return _person("Patient", logical_id, row[0]) if row else None


def list_practitioners() -> list[Person]:
    return [_person("Practitioner", logical_id, text) for logical_id, text in _rows("Practitioner")]


def list_encounters(patient_id: str, limit: int = 20) -> list[tuple[str, str]]:
    """(logical id, label) of a patient's most recent encounters."""
    from apps.sandbox.models import SandboxResource

    rows = (
        SandboxResource.objects.filter(resource_type="Encounter", patient_id=patient_id)
        .order_by("-effective", "-id")
        .values_list("logical_id", "effective")[:limit]
    )
    return [
        (logical_id, f"{logical_id} ({effective:%Y-%m-%d})" if effective else logical_id)
        for logical_id, effective in rows
    ]


def encounter_belongs_to(encounter_id: str, patient_id: str) -> bool:
    from apps.sandbox.models import SandboxResource

    return SandboxResource.objects.filter(
        resource_type="Encounter", logical_id=encounter_id, patient_id=patient_id
    ).exists()
