"""Decision support: a small rule set producing CDS Hooks-shaped cards (CDS Hooks 2.0 §card attributes:
uuid, summary ≤ 140 characters, detail, indicator info|warning|critical, source {label, url}).

Each rule says which data it needs; when that data could not be read (scope not granted, EHR lacks the
resource type) the rule is reported as "not evaluated" instead of guessing. Every card carries a fingerprint of
the data that triggered it, so a dismissal applies to that data only: new data that fires the same rule again
shows a fresh card.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from apps.engagement.fhir_extract import Measurement, Medication, Vaccination
from apps.engagement.scoring import Score

INDICATOR_ORDER = {"critical": 0, "warning": 1, "info": 2}
CARD_NAMESPACE = uuid.UUID("6f1c8a52-3d0e-4b7a-9f57-8b1f6e2a9c11")


@dataclass
class PatientData:
    """What the rules look at; None means "could not be read", [] means "read, and there is none"."""

    patient: str
    today: date
    measurements: list[Measurement] | None = None
    medications: list[Medication] | None = None
    immunizations: list[Vaccination] | None = None
    scores: list[Score] | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: Any
    needs: tuple[str, ...]
    source_label: str
    source_url: str
    evaluate: Callable[[PatientData], dict[str, Any] | None]


@dataclass
class Evaluation:
    cards: list[dict[str, Any]] = field(default_factory=list)
    not_evaluated: list[Rule] = field(default_factory=list)


def fingerprint(rule_id: str, evidence: list[str]) -> str:
    return hashlib.sha256(f"{rule_id}|{'|'.join(sorted(evidence))}".encode()).hexdigest()[:40]


def card(rule: Rule, patient: str, *, summary: str, detail: str, indicator: str, evidence: list[str]) -> dict:
    print_ = fingerprint(rule.id, evidence)
    return {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{patient}|{rule.id}|{print_}")),
        "summary": summary[:140],
        "detail": detail,
        "indicator": indicator,
        "source": {"label": rule.source_label, "url": rule.source_url},
        "rule": rule.id,
        "fingerprint": print_,
    }


def evaluate(data: PatientData, rules: list[Rule] | None = None) -> Evaluation:
    from apps.engagement.rules.clinical import RULES

    result = Evaluation()
    for rule in rules if rules is not None else RULES:
        if any(getattr(data, need) is None for need in rule.needs):
            result.not_evaluated.append(rule)
            continue
        produced = rule.evaluate(data)
        if produced is not None:
            result.cards.append(produced)
    result.cards.sort(key=lambda c: INDICATOR_ORDER.get(c["indicator"], 9))
    return result
