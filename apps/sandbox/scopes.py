"""SMART scopes, as the sandbox EHR's FHIR API enforces them.

SMART App Launch 2.2 §scopes-and-launch-context: v1 (`patient/Observation.read`, `user/*.write`,
`system/*.read`, `.*`) and v2 (`patient/Observation.rs`, `.cruds`, granular
`patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory`).

`decide()` turns the granted scopes into an access decision for one interaction on one resource type: a list
of clauses, any of which lets a resource through. A clause confines to a patient compartment (patient/ scopes)
and/or carries granular search constraints (`?category=...`). No clause means refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

# Interaction names used by the API, mapped to the v2 permission letter that allows them.
INTERACTIONS = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}
_V2_ORDER = "cruds"
_SCOPE_RE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]+)(?:\?(.+))?$")

# Resource types that belong to a Patient compartment in the sandbox. patient/ scopes confine these to the
# launch patient; the other types (Practitioner, Questionnaire, Group) hold no one patient's data.
COMPARTMENT_TYPES = frozenset(
    {
        "Patient",
        "Observation",
        "Condition",
        "MedicationRequest",
        "AllergyIntolerance",
        "Immunization",
        "Encounter",
        "Procedure",
        "DiagnosticReport",
        "QuestionnaireResponse",
    }
)

# Shared reference data a patient/ scope may read unconfined (it holds no patient's data). Other non-compartment
# types (Group: its members are other patients) are not reachable with patient/ scopes at all.
SHARED_TYPES = frozenset({"Practitioner", "Questionnaire"})


@dataclass(frozen=True)
class ResourceScope:
    context: str  # patient | user | system
    resource_type: str  # a type or "*"
    permissions: frozenset[str]  # subset of c r u d s
    constraints: tuple[tuple[str, str], ...] = ()  # granular v2 query, e.g. (("category", "sys|code"),)

    def covers(self, resource_type: str, interaction: str) -> bool:
        letter = INTERACTIONS[interaction]
        return letter in self.permissions and self.resource_type in ("*", resource_type)


def parse_scope(scope: str) -> ResourceScope | None:
    """Parse one resource scope; None for non-resource scopes (openid, launch/patient ...) or malformed ones."""
    match = _SCOPE_RE.match(scope.strip())
    if match is None:
        return None
    context, resource_type, action, query = match.groups()
    if action in _V1:
        if query:  # granular constraints exist only in v2 syntax
            return None
        permissions = _V1[action]
    else:
        # v2: letters from "cruds", each at most once, in that order.
        positions = [_V2_ORDER.find(letter) for letter in action]
        if -1 in positions or positions != sorted(set(positions)):
            return None
        permissions = frozenset(action)
    constraints: tuple[tuple[str, str], ...] = ()
    if query:
        pairs = parse_qsl(query, keep_blank_values=False, strict_parsing=False)
        if not pairs:
            return None
        constraints = tuple(sorted(pairs))
    return ResourceScope(context, resource_type, permissions, constraints)


def parse_scopes(scopes: Iterable[str]) -> list[ResourceScope]:
    parsed = []
    for scope in scopes:
        item = parse_scope(scope)
        if item is not None:
            parsed.append(item)
    return parsed


@dataclass(frozen=True)
class Clause:
    """One way a resource can be allowed: inside `patient_id`'s compartment (None: any) and matching
    every granular constraint (search parameter, value)."""

    patient_id: str | None
    constraints: tuple[tuple[str, str], ...] = ()

    @property
    def unrestricted(self) -> bool:
        return self.patient_id is None and not self.constraints


@dataclass(frozen=True)
class Decision:
    clauses: tuple[Clause, ...]

    @property
    def allowed(self) -> bool:
        return bool(self.clauses)

    @property
    def unrestricted(self) -> bool:
        return any(clause.unrestricted for clause in self.clauses)


def decide(
    *,
    scopes: Iterable[str],
    resource_type: str,
    interaction: str,
    patient_id: str | None,
    is_system: bool,
) -> Decision:
    """Which resources of `resource_type` may this grant `interaction` (read/search/create/...)?

    Backend-services grants use system/ scopes only; user-facing grants use patient/ and user/ scopes
    (system/ scopes on such a token are ignored). patient/ scopes without a launch patient grant nothing.
    """
    clauses: list[Clause] = []
    for scope in parse_scopes(scopes):
        if not scope.covers(resource_type, interaction):
            continue
        if is_system != (scope.context == "system"):
            continue
        if scope.context == "patient":
            if not patient_id:
                continue
            if resource_type in COMPARTMENT_TYPES:
                clauses.append(Clause(patient_id, scope.constraints))
            elif resource_type in SHARED_TYPES:
                clauses.append(Clause(None, scope.constraints))
        else:
            clauses.append(Clause(None, scope.constraints))
    if any(clause.unrestricted for clause in clauses):
        return Decision((Clause(None),))
    # Deduplicate while keeping a stable order.
    return Decision(tuple(dict.fromkeys(clauses)))
