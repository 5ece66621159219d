"""Turning FHIR R4 resources from any EHR into the small records the pages and rules use.

Everything an EHR sends is untrusted: every field is type-checked, strings are cut short, and anything that
does not parse is skipped rather than raising. Records are NamedTuples: compact to cache (fhir_reads) and
cheap to unpickle for a patient with thousands of Observations.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from django.utils import timezone
from django.utils.translation import get_language

from apps.engagement import codes
from apps.engagement.codes import ANALYTES, BP_PANEL_CODES, LOINC, LOINC_TO_KEY

MAX_TEXT = 300
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_NUMBER_RE = re.compile(r"^\s*(<=|>=|<|>|≤|≥)?\s*(-?\d+(?:[.,]\d+)?)\s*(.*?)\s*$")
CRITICAL_INTERP = {"HH", "LL", "AA", "HU", "LU"}
HIGH_INTERP = {"H", "HX", ">"}
LOW_INTERP = {"L", "LX", "<"}


def _s(value: Any, limit: int = MAX_TEXT) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def codings(concept: Any) -> list[tuple[str, str, str]]:
    """(normalised system, code, display) of a CodeableConcept."""
    out = []
    for coding in _list(_dict(concept).get("coding")):
        coding = _dict(coding)
        code = _s(coding.get("code"), 100)
        if code:
            out.append((codes.normalise_system(coding.get("system")), code, _s(coding.get("display"))))
    return out


def has_code(concept: Any, system: str, wanted: set[str] | frozenset[str] | tuple[str, ...]) -> bool:
    return any((sys == system or (not sys and system == LOINC)) and code in wanted for sys, code, _ in codings(concept))


class Label(NamedTuple):
    display: str  # the first coding's display (usually English)
    text: str  # CodeableConcept.text (what the EHR shows its users)

    def __str__(self) -> str:
        language = (get_language() or "en").lower()
        if language.startswith("zh"):
            return self.text or self.display
        return self.display or self.text


def label(concept: Any) -> Label:
    concept = _dict(concept)
    displays = [d for _, _, d in codings(concept) if d]
    return Label(displays[0] if displays else "", _s(concept.get("text")))


def parse_datetime(value: Any) -> datetime | None:
    """A FHIR date or dateTime (partial dates allowed) as an aware datetime; local midnight for dates."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    match = _DATE_RE.match(value)
    if match:
        year, month, day = int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1)
        try:
            return timezone.make_aware(datetime.combine(date(year, month, day), time()))
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def reference_id(reference: Any, resource_type: str) -> str:
    """The logical id in `{"reference": "Type/id"}` (absolute URLs too); "" for other types."""
    ref = _s(_dict(reference).get("reference"), 500)
    parts = ref.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    return ""


# --- Observations -----------------------------------------------------------------------------------------------


class Measurement(NamedTuple):
    id: str  # resource id (component measurements share their panel's id)
    key: str  # analyte key from codes.ANALYTES, or "" when not one we know
    code: str  # "system|code" of the first coding, for grouping unknown results
    name: Label
    category: str  # vital-signs | laboratory | survey | other
    when: datetime | None
    value: float | None  # numeric value, in the analyte's canonical unit when unit_ok
    comparator: str  # "<" / ">" for values such as "<60"; "" otherwise
    text: str  # the value as the EHR wrote it (valueString, coded value, or number + unit)
    unit: str  # canonical unit for known analytes when unit_ok, else the EHR's unit
    unit_ok: bool  # the value is in `unit` (known unit, or missing and assumed from a plausible value)
    unit_assumed: bool  # the EHR sent no unit; we assumed the canonical one
    low: float | None  # reference range, same unit as value
    high: float | None
    range_source: str  # "ehr" | "typical" | ""
    interpretation: str  # the EHR's interpretation code (H, L, HH, ...)
    flag: str  # critical | high | low | abnormal | normal | ""
    encounter: str  # Encounter id
    status: str


def _category(observation: dict[str, Any]) -> str:
    for concept in _list(observation.get("category")):
        for _system, code, _d in codings(concept):
            if code in ("vital-signs", "laboratory", "survey"):
                return code
    return "other"


def _analyte_key(concept: Any) -> str:
    for system, code, _d in codings(concept):
        if system in (LOINC, "") and code in LOINC_TO_KEY:
            return LOINC_TO_KEY[code]
    # Unusual codings (a local code system only): recognise a few labs by their name.
    text = " ".join([_s(_dict(concept).get("text"))] + [d for _, _, d in codings(concept)]).lower()
    if text:
        for analyte in ANALYTES.values():
            if any(pattern in text for pattern in analyte.text_patterns):
                return analyte.key
    return ""


def _unit_key(unit: str) -> str:
    return unit.replace(" ", "").lower() if unit != "mm Hg" else "mmhg"


def _convert(key: str, value: float, unit: str) -> tuple[float, str, bool, bool]:
    """(value, unit, unit_ok, unit_assumed) — into the canonical unit when we can."""
    analyte = ANALYTES.get(key)
    if analyte is None:
        return value, unit, bool(unit), False
    if not unit:
        low, high = analyte.plausible
        if key == "hba1c" and 20 <= value <= 200:  # an IFCC value (mmol/mol) sent without its unit
            return analyte.units["mmol/mol"](value), analyte.unit, True, True
        if low <= value <= high:
            return value, analyte.unit, True, True
        return value, unit, False, False
    converter = analyte.units.get(_unit_key(unit)) or analyte.units.get(unit)
    if converter is None and _unit_key(unit) == _unit_key(analyte.unit):
        converter = _same_value
    if converter is None:
        return value, unit, False, False
    return converter(value), analyte.unit, True, False


def _same_value(value: float) -> float:
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")):  # NaN / infinity
        return None
    return float(value)


def _value(container: dict[str, Any]) -> tuple[float | None, str, str, str]:
    """(number, comparator, unit, text) of an Observation (or component) value[x]."""
    quantity = container.get("valueQuantity")
    if isinstance(quantity, dict):
        number = _number(quantity.get("value"))
        unit = _s(quantity.get("code"), 40) if codes.normalise_system(quantity.get("system")) == codes.UCUM else ""
        unit = unit or _s(quantity.get("unit"), 40) or _s(quantity.get("code"), 40)
        comparator = {"<": "<", "<=": "<", ">": ">", ">=": ">"}.get(_s(quantity.get("comparator"), 2), "")
        text = f"{comparator}{_fmt(number)} {unit}".strip() if number is not None else ""
        return number, comparator, unit, text
    for name in ("valueInteger", "valueDecimal"):
        number = _number(container.get(name))
        if number is not None:
            return number, "", "", _fmt(number)
    string = container.get("valueString")
    if isinstance(string, str):
        match = _NUMBER_RE.match(string[:100])
        if match:
            comparator = {"<=": "<", "≤": "<", ">=": ">", "≥": ">"}.get(match.group(1) or "", match.group(1) or "")
            number = float(match.group(2).replace(",", "."))
            return number, comparator, _s(match.group(3), 40), _s(string)
        return None, "", "", _s(string)
    concept = container.get("valueCodeableConcept")
    if isinstance(concept, dict):
        return None, "", "", str(label(concept))
    if isinstance(container.get("valueBoolean"), bool):
        return None, "", "", "yes" if container["valueBoolean"] else "no"
    return None, "", "", ""


def _fmt(number: float | None) -> str:
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def _range(container: dict[str, Any], key: str, fallback_unit: str) -> tuple[float | None, float | None]:
    for item in _list(container.get("referenceRange"))[:1]:
        item = _dict(item)
        bounds = []
        for name in ("low", "high"):
            quantity = _dict(item.get(name))
            number = _number(quantity.get("value"))
            if number is not None and key:
                unit = _s(quantity.get("code"), 40) or _s(quantity.get("unit"), 40) or fallback_unit
                converted, _unit, ok, _assumed = _convert(key, number, unit)
                number = converted if ok else None
            bounds.append(number)
        return bounds[0], bounds[1]
    return None, None


def _interpretation(container: dict[str, Any]) -> str:
    for concept in _list(container.get("interpretation"))[:1]:
        for _system, code, _d in codings(concept):
            return code.upper()[:4]
    return ""


def flag_for(key: str, value: float | None, comparator: str, low: float | None, high: float | None,
             interpretation: str) -> str:  # fmt: skip
    """critical / high / low / abnormal / normal, or "" when nothing says."""
    analyte = ANALYTES.get(key)
    if interpretation in CRITICAL_INTERP:
        return "critical"
    if value is not None and analyte is not None:
        crit_low, crit_high = analyte.critical
        if (crit_low is not None and value < crit_low and comparator != ">") or (
            crit_high is not None and value >= crit_high and comparator != "<"
        ):
            return "critical"
    if value is not None and (low is not None or high is not None):
        if high is not None and value > high and comparator != "<":
            return "high"
        if low is not None and value < low and comparator != ">":
            return "low"
        return "normal"
    if interpretation in HIGH_INTERP:
        return "high"
    if interpretation in LOW_INTERP:
        return "low"
    if interpretation in {"A", "ABN", "POS", "DET"}:
        return "abnormal"
    if interpretation == "N":
        return "normal"
    return ""


def _measurement(obs: dict[str, Any], container: dict[str, Any], concept: Any, *, key: str, category: str,
                 when: datetime | None, rid: str, parent_interp: str = "") -> Measurement:  # fmt: skip
    number, comparator, unit, text = _value(container)
    unit_ok, unit_assumed = False, False
    number_for_flags = None
    if number is not None:
        number, unit, unit_ok, unit_assumed = _convert(key, number, unit)
        number_for_flags = None if not unit_ok and key else number
    low, high = _range(container, key, unit)
    range_source = "ehr" if (low is not None or high is not None) else ""
    if not range_source and key and ANALYTES[key].typical != (None, None) and category != "laboratory":
        low, high = ANALYTES[key].typical
        range_source = "typical"
    interpretation = _interpretation(container) or parent_interp
    first = codings(concept)
    return Measurement(
        id=rid,
        key=key,
        code=f"{first[0][0]}|{first[0][1]}" if first else "",
        name=label(concept),
        category=category if category != "other" or not key else ANALYTES[key].category,
        when=when,
        value=number,
        comparator=comparator,
        text=text,
        unit=unit,
        unit_ok=unit_ok,
        unit_assumed=unit_assumed,
        low=low,
        high=high,
        range_source=range_source,
        interpretation=interpretation,
        flag=flag_for(key, number_for_flags, comparator, low, high, interpretation),
        encounter=reference_id(obs.get("encounter"), "Encounter"),
        status=_s(obs.get("status"), 20),
    )


def observation_time(obs: dict[str, Any]) -> datetime | None:
    return (
        parse_datetime(obs.get("effectiveDateTime"))
        or parse_datetime(obs.get("effectiveInstant"))
        or parse_datetime(_dict(obs.get("effectivePeriod")).get("start"))
        or parse_datetime(obs.get("issued"))
    )


def measurements(resources: list[dict[str, Any]]) -> list[Measurement]:
    """Every usable Observation as Measurements (a blood-pressure panel gives one per component),
    newest first. Cancelled and entered-in-error results are left out."""
    out: list[Measurement] = []
    for obs in resources:
        if not isinstance(obs, dict) or obs.get("resourceType") != "Observation":
            continue
        if obs.get("status") in ("cancelled", "entered-in-error"):
            continue
        rid = _s(obs.get("id"), 64)
        when = observation_time(obs)
        category = _category(obs)
        concept = obs.get("code")
        components = [c for c in _list(obs.get("component")) if isinstance(c, dict)]
        if has_code(concept, LOINC, BP_PANEL_CODES) or (components and not _value(obs)[3]):
            for component in components[:20]:
                key = _analyte_key(component.get("code"))
                out.append(_measurement(obs, component, component.get("code"), key=key, category=category,
                                        when=when, rid=rid))  # fmt: skip
            continue
        key = _analyte_key(concept)
        out.append(_measurement(obs, obs, concept, key=key, category=category, when=when, rid=rid))
    out.sort(key=lambda m: m.when or _EPOCH, reverse=True)
    return out


_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


class BloodPressure(NamedTuple):
    when: datetime | None
    systolic: float
    diastolic: float
    id: str


def blood_pressures(items: list[Measurement]) -> list[BloodPressure]:
    """Systolic/diastolic pairs, newest first: from one panel (same id) or from two Observations taken at the
    same moment."""
    pairs: dict[tuple[str, Any], dict[str, Measurement]] = {}
    for m in items:
        if m.key in ("sbp", "dbp") and m.value is not None and m.unit_ok:
            pairs.setdefault((m.id, m.when), {})[m.key] = m
    # Separate Observations: pair by timestamp.
    loose: dict[Any, dict[str, Measurement]] = {}
    for (_rid, when), pair in list(pairs.items()):
        if len(pair) == 1:
            loose.setdefault(when, {}).update(pair)
    out = [
        BloodPressure(p["sbp"].when, p["sbp"].value, p["dbp"].value, p["sbp"].id)
        for p in pairs.values()
        if "sbp" in p and "dbp" in p
    ]
    out += [
        BloodPressure(p["sbp"].when, p["sbp"].value, p["dbp"].value, p["sbp"].id)
        for p in loose.values()
        if "sbp" in p and "dbp" in p
    ]
    out.sort(key=lambda bp: bp.when or _EPOCH, reverse=True)
    return out


# --- other resource types ---------------------------------------------------------------------------------------


def _active(resource: dict[str, Any], field: str, inactive: set[str]) -> bool:
    status = [code for _s_, code, _d in codings(resource.get(field))]
    return not (set(status) & inactive)


class Problem(NamedTuple):
    id: str
    name: Label
    codes: tuple[tuple[str, str], ...]
    onset: datetime | None
    active: bool


def problems(resources: list[dict[str, Any]]) -> list[Problem]:
    out = []
    for res in resources:
        if not isinstance(res, dict) or res.get("resourceType") != "Condition":
            continue
        if "entered-in-error" in [c for _x, c, _d in codings(res.get("verificationStatus"))]:
            continue
        out.append(
            Problem(
                id=_s(res.get("id"), 64),
                name=label(res.get("code")),
                codes=tuple((system, code) for system, code, _d in codings(res.get("code")))[:6],
                onset=parse_datetime(res.get("onsetDateTime")) or parse_datetime(res.get("recordedDate")),
                active=_active(res, "clinicalStatus", {"inactive", "resolved", "remission"}),
            )
        )
    return out


class Medication(NamedTuple):
    id: str
    name: Label
    codes: tuple[tuple[str, str], ...]
    dosage: str
    authored: datetime | None
    status: str


def medications(resources: list[dict[str, Any]]) -> list[Medication]:
    out = []
    for res in resources:
        if not isinstance(res, dict) or res.get("resourceType") not in ("MedicationRequest", "MedicationStatement"):
            continue
        concept = res.get("medicationCodeableConcept")
        name = (
            label(concept)
            if isinstance(concept, dict)
            else Label(_s(_dict(res.get("medicationReference")).get("display")), "")
        )
        dosage = " ".join(
            _s(_dict(d).get("text")) for d in _list(res.get("dosageInstruction") or res.get("dosage"))[:3]
        )
        out.append(
            Medication(
                id=_s(res.get("id"), 64),
                name=name,
                codes=tuple((system, code) for system, code, _d in codings(concept))[:6],
                dosage=dosage.strip(),
                authored=parse_datetime(res.get("authoredOn")) or parse_datetime(res.get("dateAsserted")),
                status=_s(res.get("status"), 20),
            )
        )
    return out


def active_medications(items: list[Medication]) -> list[Medication]:
    return [m for m in items if m.status in ("active", "on-hold", "")]


class Allergy(NamedTuple):
    id: str
    name: Label
    criticality: str
    category: str
    active: bool
    reactions: str


def allergies(resources: list[dict[str, Any]]) -> list[Allergy]:
    out = []
    for res in resources:
        if not isinstance(res, dict) or res.get("resourceType") != "AllergyIntolerance":
            continue
        if "entered-in-error" in [c for _x, c, _d in codings(res.get("verificationStatus"))]:
            continue
        reactions = []
        for reaction in _list(res.get("reaction"))[:5]:
            for manifestation in _list(_dict(reaction).get("manifestation"))[:3]:
                reactions.append(str(label(manifestation)))
        out.append(
            Allergy(
                id=_s(res.get("id"), 64),
                name=label(res.get("code")),
                criticality=_s(res.get("criticality"), 20),
                category=", ".join(_s(c, 20) for c in _list(res.get("category"))[:3]),
                active=_active(res, "clinicalStatus", {"inactive", "resolved"}),
                reactions=", ".join(r for r in reactions if r),
            )
        )
    return out


class Vaccination(NamedTuple):
    id: str
    name: Label
    when: datetime | None
    completed: bool
    influenza: bool


def immunizations(resources: list[dict[str, Any]]) -> list[Vaccination]:
    out = []
    for res in resources:
        if not isinstance(res, dict) or res.get("resourceType") != "Immunization":
            continue
        concept = res.get("vaccineCode")
        name = label(concept)
        flu = has_code(concept, codes.CVX, codes.INFLUENZA_CVX) or bool(
            codes.INFLUENZA_TEXT.search(f"{name.display} {name.text}")
        )
        out.append(
            Vaccination(
                id=_s(res.get("id"), 64),
                name=name,
                when=parse_datetime(res.get("occurrenceDateTime")) or parse_datetime(res.get("recorded")),
                completed=res.get("status") == "completed",
                influenza=flu,
            )
        )
    out.sort(key=lambda v: v.when or _EPOCH, reverse=True)
    return out


class Visit(NamedTuple):
    id: str
    name: Label
    klass: str
    start: datetime | None
    end: datetime | None
    status: str


def encounters(resources: list[dict[str, Any]]) -> list[Visit]:
    out = []
    for res in resources:
        if not isinstance(res, dict) or res.get("resourceType") != "Encounter":
            continue
        types = _list(res.get("type"))
        klass = _dict(res.get("class"))
        period = _dict(res.get("period"))
        out.append(
            Visit(
                id=_s(res.get("id"), 64),
                name=label(types[0]) if types else Label("", ""),
                klass=_s(klass.get("display"), 60) or _s(klass.get("code"), 20),
                start=parse_datetime(period.get("start")),
                end=parse_datetime(period.get("end")),
                status=_s(res.get("status"), 20),
            )
        )
    out.sort(key=lambda v: v.start or _EPOCH, reverse=True)
    return out


def age_on(birth: datetime | None, today: date) -> int | None:
    if birth is None:
        return None
    b = birth.date()
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))
