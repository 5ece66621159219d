"""What the sandbox indexes for each FHIR R4 resource type, and how search parameters map onto it.

FHIR R4 §search: token parameters (`code=system|code`), string parameters (`name=`), date parameters
(`date=ge2020-01-01`), reference parameters (`patient=`). Each type's main date parameter is stored in the
`effective` column; token and string values become `SandboxToken` rows; the patient compartment is the
`patient_id` column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

TOKEN = "token"  # noqa: S105 - the FHIR search parameter type, not a credential
STRING = "string"
DATE = "date"
PATIENT = "patient"  # reference to the compartment's Patient: filters on the patient_id column
REFERENCE = "reference"  # other references, indexed as tokens "Type/id"

Resource = dict[str, Any]


@dataclass(frozen=True)
class Param:
    kind: str
    extract: Callable[[Resource], Iterator[tuple[str, str]]] | None = None
    # For REFERENCE parameters: the target type, to normalise `encounter=enc-1` to "Encounter/enc-1".
    target: str = ""


@dataclass
class IndexData:
    patient_id: str = ""
    effective: datetime | None = None
    tokens: list[tuple[str, str, str]] = field(default_factory=list)  # (param, system, code)


# ---------------------------------------------------------------------------------------------------------------
# Dates


_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def parse_date_range(value: str) -> tuple[datetime, datetime]:
    """A FHIR date/dateTime/instant as the half-open UTC range it denotes at its precision.

    `2023` covers the year, `2023-05-01` the day, a dateTime with seconds that second. Values without a time
    zone are read as UTC (the sandbox's convention; say so in the CapabilityStatement).
    """
    match = _DATE_RE.match(value.strip())
    if match is None:
        raise ValueError(f"not a FHIR date: {value!r}")
    g = match.groupdict()
    year = int(g["y"])
    if g["m"] is None:
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    month = int(g["m"])
    if g["d"] is None:
        low = datetime(year, month, 1, tzinfo=UTC)
        high = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        return low, high
    day = int(g["d"])
    if g["H"] is None:
        low = datetime(year, month, day, tzinfo=UTC)
        return low, low + timedelta(days=1)
    tz = UTC
    if g["tz"] and g["tz"] != "Z":
        sign = 1 if g["tz"][0] == "+" else -1
        hours, minutes = int(g["tz"][1:3]), int(g["tz"][4:6])
        from datetime import timezone

        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    fraction = g["f"] or ""
    micro = int((fraction + "000000")[:6]) if fraction else 0
    low = datetime(year, month, day, int(g["H"]), int(g["M"]), int(g["S"] or 0), micro, tzinfo=tz).astimezone(UTC)
    step = timedelta(minutes=1) if g["S"] is None else timedelta(seconds=1)
    if fraction:
        step = timedelta(microseconds=1)
    return low, low + step


def date_start(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_date_range(value)[0]
    except ValueError:
        return None


def format_instant(value: datetime) -> str:
    """FHIR instant in UTC with millisecond precision."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------------------------------------------
# Extraction helpers


def _list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _codings(concepts: Any) -> Iterator[tuple[str, str]]:
    for concept in _list(concepts):
        if not isinstance(concept, dict):
            continue
        for coding in _list(concept.get("coding")):
            if isinstance(coding, dict) and isinstance(coding.get("code"), str):
                yield str(coding.get("system") or ""), coding["code"]


def _code(value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str) and value:
        yield "", value


def _identifiers(value: Any) -> Iterator[tuple[str, str]]:
    for ident in _list(value):
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            yield str(ident.get("system") or ""), ident["value"]


def _names(value: Any, part: str = "all") -> Iterator[tuple[str, str]]:
    for name in _list(value):
        if not isinstance(name, dict):
            continue
        parts: list[str] = []
        if part in ("all", "family") and isinstance(name.get("family"), str):
            parts.append(name["family"])
        if part in ("all", "given"):
            parts.extend(g for g in _list(name.get("given")) if isinstance(g, str))
        if part == "all" and isinstance(name.get("text"), str):
            parts.append(name["text"])
        for item in parts:
            cleaned = item.strip().lower()
            if cleaned:
                yield "", cleaned[:255]


def _reference(value: Any) -> Iterator[tuple[str, str]]:
    for ref in _list(value):
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            normalised = normalise_reference(ref["reference"])
            if normalised:
                yield "", normalised


def normalise_reference(reference: str, default_type: str = "") -> str:
    """`Patient/p-1`, `http://host/fhir/Patient/p-1/_history/2` or (with default_type) `p-1` -> `Patient/p-1`."""
    reference = reference.strip()
    parts = [p for p in reference.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and re.match(r"^[A-Z][A-Za-z]+$", parts[-2]) and ID_RE.match(parts[-1]):
        return f"{parts[-2]}/{parts[-1]}"
    if default_type and len(parts) == 1 and ID_RE.match(parts[0]):
        return f"{default_type}/{parts[0]}"
    return ""


def patient_ref_id(value: Any) -> str:
    """Logical id of the Patient a Reference points to, or ""."""
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        normalised = normalise_reference(value["reference"])
        if normalised.startswith("Patient/"):
            return normalised.split("/", 1)[1]
    return ""


def _get(*path: str) -> Callable[[Resource], Any]:
    def getter(resource: Resource) -> Any:
        value: Any = resource
        for key in path:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        return value

    return getter


def _tok(getter: Callable[[Resource], Any], kind: Callable[[Any], Iterator[tuple[str, str]]]) -> Callable:
    return lambda resource: kind(getter(resource))


def _first_date(*getters: Callable[[Resource], Any]) -> Callable[[Resource], datetime | None]:
    def extract(resource: Resource) -> datetime | None:
        for getter in getters:
            found = date_start(getter(resource))
            if found is not None:
                return found
        return None

    return extract


# ---------------------------------------------------------------------------------------------------------------
# Per-type definitions

_SUBJECT = _get("subject")
_PATIENT = _get("patient")

COMMON_PARAMS = {"_id", "_lastUpdated"}

SEARCH_PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "identifier": Param(TOKEN, _tok(_get("identifier"), _identifiers)),
        "name": Param(STRING, _tok(_get("name"), _names)),
        "family": Param(STRING, lambda r: _names(r.get("name"), "family")),
        "given": Param(STRING, lambda r: _names(r.get("name"), "given")),
        "birthdate": Param(DATE),
        "gender": Param(TOKEN, _tok(_get("gender"), _code)),
    },
    "Practitioner": {
        "identifier": Param(TOKEN, _tok(_get("identifier"), _identifiers)),
        "name": Param(STRING, _tok(_get("name"), _names)),
        "family": Param(STRING, lambda r: _names(r.get("name"), "family")),
        "given": Param(STRING, lambda r: _names(r.get("name"), "given")),
    },
    "Observation": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "category": Param(TOKEN, _tok(_get("category"), _codings)),
        "code": Param(TOKEN, _tok(_get("code"), _codings)),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "date": Param(DATE),
        "encounter": Param(REFERENCE, _tok(_get("encounter"), _reference), "Encounter"),
    },
    "Condition": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "code": Param(TOKEN, _tok(_get("code"), _codings)),
        "category": Param(TOKEN, _tok(_get("category"), _codings)),
        "clinical-status": Param(TOKEN, _tok(_get("clinicalStatus"), _codings)),
        "verification-status": Param(TOKEN, _tok(_get("verificationStatus"), _codings)),
        "onset-date": Param(DATE),
        "encounter": Param(REFERENCE, _tok(_get("encounter"), _reference), "Encounter"),
    },
    "MedicationRequest": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "intent": Param(TOKEN, _tok(_get("intent"), _code)),
        "code": Param(TOKEN, _tok(_get("medicationCodeableConcept"), _codings)),
        "authoredon": Param(DATE),
        "encounter": Param(REFERENCE, _tok(_get("encounter"), _reference), "Encounter"),
    },
    "AllergyIntolerance": {
        "patient": Param(PATIENT),
        "clinical-status": Param(TOKEN, _tok(_get("clinicalStatus"), _codings)),
        "code": Param(TOKEN, _tok(_get("code"), _codings)),
        "category": Param(TOKEN, lambda r: (t for c in _list(r.get("category")) for t in _code(c))),
        "criticality": Param(TOKEN, _tok(_get("criticality"), _code)),
        "date": Param(DATE),
    },
    "Immunization": {
        "patient": Param(PATIENT),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "vaccine-code": Param(TOKEN, _tok(_get("vaccineCode"), _codings)),
        "date": Param(DATE),
    },
    "Encounter": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "class": Param(
            TOKEN,
            lambda r: (
                (str(c.get("system") or ""), c["code"])
                for c in _list(r.get("class"))
                if isinstance(c, dict) and isinstance(c.get("code"), str)
            ),
        ),
        "type": Param(TOKEN, _tok(_get("type"), _codings)),
        "date": Param(DATE),
        "participant": Param(
            REFERENCE,
            lambda r: (
                t for p in _list(r.get("participant")) if isinstance(p, dict) for t in _reference(p.get("individual"))
            ),
            "Practitioner",
        ),
    },
    "Procedure": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "code": Param(TOKEN, _tok(_get("code"), _codings)),
        "date": Param(DATE),
        "encounter": Param(REFERENCE, _tok(_get("encounter"), _reference), "Encounter"),
    },
    "DiagnosticReport": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "category": Param(TOKEN, _tok(_get("category"), _codings)),
        "code": Param(TOKEN, _tok(_get("code"), _codings)),
        "date": Param(DATE),
        "encounter": Param(REFERENCE, _tok(_get("encounter"), _reference), "Encounter"),
    },
    "Questionnaire": {
        "url": Param(TOKEN, _tok(_get("url"), _code)),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "name": Param(STRING, lambda r: (("", r["name"].lower()[:255]),) if isinstance(r.get("name"), str) else ()),
        "code": Param(TOKEN, _tok(_get("code"), lambda v: _codings([{"coding": _list(v)}]))),
    },
    "QuestionnaireResponse": {
        "patient": Param(PATIENT),
        "subject": Param(PATIENT),
        "status": Param(TOKEN, _tok(_get("status"), _code)),
        "questionnaire": Param(TOKEN, _tok(_get("questionnaire"), _code)),
        "authored": Param(DATE),
        "encounter": Param(REFERENCE, _tok(_get("encounter"), _reference), "Encounter"),
    },
    "Group": {
        "type": Param(TOKEN, _tok(_get("type"), _code)),
    },
}

SUPPORTED_TYPES = tuple(SEARCH_PARAMS)

# The type's date parameter, stored in the `effective` column.
_EFFECTIVE: dict[str, Callable[[Resource], datetime | None]] = {
    "Patient": _first_date(_get("birthDate")),
    "Observation": _first_date(_get("effectiveDateTime"), _get("effectiveInstant"), _get("effectivePeriod", "start")),
    "Condition": _first_date(_get("onsetDateTime"), _get("onsetPeriod", "start"), _get("recordedDate")),
    "MedicationRequest": _first_date(_get("authoredOn")),
    "AllergyIntolerance": _first_date(_get("recordedDate"), _get("onsetDateTime")),
    "Immunization": _first_date(_get("occurrenceDateTime")),
    "Encounter": _first_date(_get("period", "start")),
    "Procedure": _first_date(_get("performedDateTime"), _get("performedPeriod", "start")),
    "DiagnosticReport": _first_date(_get("effectiveDateTime"), _get("effectivePeriod", "start"), _get("issued")),
    "QuestionnaireResponse": _first_date(_get("authored")),
}

# Which reference holds the patient compartment, per type.
_COMPARTMENT: dict[str, Callable[[Resource], Any]] = {
    "Observation": _SUBJECT,
    "Condition": _SUBJECT,
    "MedicationRequest": _SUBJECT,
    "Encounter": _SUBJECT,
    "Procedure": _SUBJECT,
    "DiagnosticReport": _SUBJECT,
    "QuestionnaireResponse": _SUBJECT,
    "AllergyIntolerance": _PATIENT,
    "Immunization": _PATIENT,
}


def compartment_patient(resource: Resource) -> str:
    resource_type = resource.get("resourceType")
    if resource_type == "Patient":
        return str(resource.get("id") or "")
    getter = _COMPARTMENT.get(str(resource_type))
    return patient_ref_id(getter(resource)) if getter else ""


def index_resource(resource: Resource) -> IndexData:
    resource_type = str(resource.get("resourceType"))
    data = IndexData(patient_id=compartment_patient(resource))
    effective = _EFFECTIVE.get(resource_type)
    data.effective = effective(resource) if effective else None
    seen: set[tuple[str, str, str]] = set()
    for name, param in SEARCH_PARAMS.get(resource_type, {}).items():
        if param.extract is None:
            continue
        for system, code in param.extract(resource):
            key = (name, system[:255], code[:255])
            if key not in seen:
                seen.add(key)
                data.tokens.append(key)
    return data
