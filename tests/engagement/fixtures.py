"""Hand-made FHIR resources for the engagement unit tests (not the sandbox generator's output)."""

from __future__ import annotations

from typing import Any

LOINC = "http://loinc.org"


def obs(oid: str, code: str, when: str, *, value: Any = None, unit: str | None = "%", system: str | None = LOINC,
        low: float | None = None, high: float | None = None, interp: str | None = None, string: str | None = None,
        category: str = "laboratory", text: str | None = None, status: str = "final") -> dict:  # fmt: skip
    coding: dict[str, Any] = {"code": code}
    if system:
        coding["system"] = system
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": category}]}],
        "code": {"coding": [coding], **({"text": text} if text else {})},
        "effectiveDateTime": when,
    }  # fmt: skip
    if value is not None:
        quantity: dict[str, Any] = {"value": value}
        if unit is not None:
            quantity.update({"unit": unit, "system": "http://unitsofmeasure.org", "code": unit})
        resource["valueQuantity"] = quantity
    if string is not None:
        resource["valueString"] = string
    if low is not None or high is not None:
        rng: dict[str, Any] = {}
        if low is not None:
            rng["low"] = {"value": low, "unit": unit}
        if high is not None:
            rng["high"] = {"value": high, "unit": unit}
        resource["referenceRange"] = [rng]
    if interp:
        resource["interpretation"] = [{"coding": [{"code": interp}]}]
    return resource


def bp(oid: str, when: str, systolic: float, diastolic: float, unit: str = "mm[Hg]") -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
        "effectiveDateTime": when,
        "component": [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
             "valueQuantity": {"value": systolic, "unit": unit}},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
             "valueQuantity": {"value": diastolic, "unit": unit}},
        ],
    }  # fmt: skip


def med(mid: str, *, rx: str | None = None, atc: str | None = None, text: str = "", status: str = "active") -> dict:
    coding = []
    if rx:
        coding.append({"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rx})
    if atc:
        coding.append({"system": "http://www.whocc.no/atc", "code": atc})
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": coding, "text": text},
    }


def imm(iid: str, when: str, *, cvx: str | None = "150", text: str = "Influenza", status: str = "completed") -> dict:
    concept: dict[str, Any] = {"text": text}
    if cvx:
        concept["coding"] = [{"system": "http://hl7.org/fhir/sid/cvx", "code": cvx}]
    return {"resourceType": "Immunization", "id": iid, "status": status, "vaccineCode": concept,
            "occurrenceDateTime": when}  # fmt: skip


PHQ9_ITEMS = ["44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"]
GAD7_ITEMS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]
LA = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def qr(qid: str, canonical: str, items: list[str], points: list[int | None], *, authored: str = "2025-05-01",
       style: str = "loinc", total: int | None = None) -> dict:  # fmt: skip
    out = []
    for code, p in zip(items, points, strict=True):
        item: dict[str, Any] = {"linkId": code}
        if p is not None:
            if style == "loinc":
                item["answer"] = [{"valueCoding": {"system": LOINC, "code": LA[p]}}]
            elif style == "integer":
                item["answer"] = [{"valueInteger": p}]
            elif style == "ordinal":
                item["answer"] = [
                    {
                        "valueCoding": {
                            "system": "urn:local",
                            "code": f"x{p}",
                            "extension": [
                                {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": p}
                            ],
                        }
                    }
                ]
        out.append(item)
    if total is not None:
        out.append({"linkId": "44261-6" if "44249" in canonical else "70274-6", "answer": [{"valueInteger": total}]})
    return {"resourceType": "QuestionnaireResponse", "id": qid, "questionnaire": canonical, "status": "completed",
            "authored": authored, "item": out}  # fmt: skip
