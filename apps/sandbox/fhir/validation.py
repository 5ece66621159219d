"""Structure checks for resources written to the sandbox (create, bundle import).

Not a full FHIR validator: it checks what a client can get wrong in ways that matter to the sandbox —
resourceType, a valid id, the elements R4 makes mandatory (min=1) for the supported types, the shape of
references, codes and values, and for writes through the API the elements the sandbox needs (subject).
"""

from __future__ import annotations

import re
from typing import Any

from apps.sandbox.fhir.indexing import ID_RE, SUPPORTED_TYPES, parse_date_range

# R4 elements with min=1, per type (value[x]/medication[x] style choices are listed as prefixes ending in "[x]").
REQUIRED = {
    "Observation": ["status", "code"],
    "Condition": ["subject"],
    "MedicationRequest": ["status", "intent", "subject", "medication[x]"],
    "AllergyIntolerance": ["patient"],
    "Immunization": ["status", "vaccineCode", "patient", "occurrence[x]"],
    "Encounter": ["status", "class"],
    "Procedure": ["status", "subject"],
    "DiagnosticReport": ["status", "code"],
    "Questionnaire": ["status"],
    "QuestionnaireResponse": ["status"],
    "Group": ["type", "actual"],
}
STATUSES = {
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                    "unknown"},
    "QuestionnaireResponse": {"in-progress", "completed", "amended", "entered-in-error", "stopped"},
}  # fmt: skip
# Extra requirements when a client creates a resource through the API.
REQUIRED_ON_CREATE = {
    "Observation": ["subject"],
    "QuestionnaireResponse": ["questionnaire", "subject"],
}
_CODE_RE = re.compile(r"^[^\s]+(\s[^\s]+)*$")
_VALUE_KEYS = ("valueQuantity", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger",
               "valueRange", "valueRatio", "valueTime", "valueDateTime", "valuePeriod")  # fmt: skip


def _present(resource: dict, element: str) -> bool:
    if element.endswith("[x]"):
        prefix = element[:-3]
        return any(key.startswith(prefix) and key[len(prefix) : len(prefix) + 1].isupper() for key in resource)
    value = resource.get(element)
    return value not in (None, "", [], {})


def _check_reference(value: Any, path: str, issues: list[str]) -> None:
    if not isinstance(value, dict):
        issues.append(f"{path} must be a Reference object")
        return
    reference = value.get("reference")
    if reference is not None and (not isinstance(reference, str) or not reference.strip()):
        issues.append(f"{path}.reference must be a non-empty string")
    if reference is None and "identifier" not in value and "display" not in value:
        issues.append(f"{path} must have a reference, identifier or display")


def _check_codeable(value: Any, path: str, issues: list[str]) -> None:
    if not isinstance(value, dict):
        issues.append(f"{path} must be a CodeableConcept object")
        return
    codings = value.get("coding", [])
    if not isinstance(codings, list):
        issues.append(f"{path}.coding must be an array")
        return
    for i, coding in enumerate(codings):
        if not isinstance(coding, dict):
            issues.append(f"{path}.coding[{i}] must be an object")
            continue
        for key in ("system", "code", "display"):
            if key in coding and not isinstance(coding[key], str):
                issues.append(f"{path}.coding[{i}].{key} must be a string")
    if not codings and not isinstance(value.get("text"), str):
        issues.append(f"{path} must have a coding or text")


def _check_date(value: Any, path: str, issues: list[str]) -> None:
    if not isinstance(value, str):
        issues.append(f"{path} must be a date/dateTime string")
        return
    try:
        parse_date_range(value)
    except ValueError:
        issues.append(f"{path} is not a valid FHIR date/dateTime: {value[:40]!r}")


def _check_items(items: Any, path: str, issues: list[str], depth: int = 0) -> None:
    if depth > 10:
        issues.append(f"{path} nests too deeply")
        return
    if not isinstance(items, list):
        issues.append(f"{path} must be an array")
        return
    for i, item in enumerate(items):
        here = f"{path}[{i}]"
        if not isinstance(item, dict):
            issues.append(f"{here} must be an object")
            continue
        if not isinstance(item.get("linkId"), str) or not item["linkId"]:
            issues.append(f"{here}.linkId is required")
        answers = item.get("answer", [])
        if not isinstance(answers, list):
            issues.append(f"{here}.answer must be an array")
            continue
        for j, answer in enumerate(answers):
            if not isinstance(answer, dict) or not any(k.startswith("value") for k in answer):
                issues.append(f"{here}.answer[{j}] must have a value[x]")
            elif "item" in answer:
                _check_items(answer["item"], f"{here}.answer[{j}].item", issues, depth + 1)
        if "item" in item:
            _check_items(item["item"], f"{here}.item", issues, depth + 1)


def validate(resource: Any, *, expected_type: str | None = None, on_create: bool = False) -> list[str]:
    """Problems with `resource`, as human-readable strings (FHIRPath-ish locations); [] when acceptable."""
    if not isinstance(resource, dict):
        return ["The body must be a JSON object (a FHIR resource)"]
    issues: list[str] = []
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        return ["resourceType is required"]
    if expected_type and resource_type != expected_type:
        return [f"resourceType {resource_type!r} does not match the endpoint ({expected_type})"]
    if resource_type not in SUPPORTED_TYPES:
        return [f"resourceType {resource_type!r} is not supported by the sandbox"]
    if "id" in resource and not on_create and (not isinstance(resource["id"], str) or not ID_RE.match(resource["id"])):
        issues.append("id must match [A-Za-z0-9-.]{1,64}")
    if "meta" in resource and not isinstance(resource["meta"], dict):
        issues.append("meta must be an object")
    required = REQUIRED.get(resource_type, []) + (REQUIRED_ON_CREATE.get(resource_type, []) if on_create else [])
    for element in required:
        if not _present(resource, element):
            issues.append(f"{resource_type}.{element} is required")
    status = resource.get("status")
    if status is not None:
        if not isinstance(status, str) or not _CODE_RE.match(status):
            issues.append(f"{resource_type}.status must be a code")
        elif resource_type in STATUSES and status not in STATUSES[resource_type]:
            issues.append(f"{resource_type}.status {status!r} is not in the required value set")
    for key in ("subject", "patient", "encounter"):
        if key in resource:
            _check_reference(resource[key], f"{resource_type}.{key}", issues)
    for key in ("code", "vaccineCode", "medicationCodeableConcept"):
        if key in resource:
            _check_codeable(resource[key], f"{resource_type}.{key}", issues)
    for key in ("category",):
        if key in resource and resource_type not in ("AllergyIntolerance",):
            if not isinstance(resource[key], list):
                issues.append(f"{resource_type}.{key} must be an array")
            else:
                for i, concept in enumerate(resource[key]):
                    _check_codeable(concept, f"{resource_type}.{key}[{i}]", issues)
    for key in ("effectiveDateTime", "authored", "issued", "birthDate", "onsetDateTime", "recordedDate",
                "authoredOn", "occurrenceDateTime", "performedDateTime"):  # fmt: skip
        if key in resource:
            _check_date(resource[key], f"{resource_type}.{key}", issues)
    if resource_type == "Observation":
        quantity = resource.get("valueQuantity")
        if quantity is not None and (
            not isinstance(quantity, dict)
            or isinstance(quantity.get("value"), bool)
            or not isinstance(quantity.get("value", 0), int | float)
        ):
            issues.append("Observation.valueQuantity.value must be a number")
        if sum(1 for key in _VALUE_KEYS if key in resource) > 1:
            issues.append("Observation.value[x] may appear only once")
        components = resource.get("component", [])
        if not isinstance(components, list) or any(not isinstance(c, dict) or "code" not in c for c in components):
            issues.append("Observation.component entries must be objects with a code")
    if resource_type == "QuestionnaireResponse":
        questionnaire = resource.get("questionnaire")
        if questionnaire is not None and (not isinstance(questionnaire, str) or not questionnaire.strip()):
            issues.append("QuestionnaireResponse.questionnaire must be a canonical URL string")
        if "item" in resource:
            _check_items(resource["item"], "QuestionnaireResponse.item", issues)
    return issues
