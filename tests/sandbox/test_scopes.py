"""SMART scopes v1 and v2 as the sandbox FHIR API interprets them (apps.sandbox.scopes)."""

from __future__ import annotations

import pytest

from apps.sandbox.scopes import Clause, decide, parse_scope

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"


@pytest.mark.parametrize(
    ("scope", "permissions"),
    [
        ("patient/Observation.read", "rs"),
        ("user/*.write", "cud"),
        ("system/*.read", "rs"),
        ("patient/*.*", "cruds"),
        ("patient/Observation.rs", "rs"),
        ("user/Patient.cruds", "cruds"),
        ("patient/QuestionnaireResponse.c", "c"),
        ("system/Observation.s", "s"),
    ],
)
def test_parses_v1_and_v2_permissions(scope, permissions):
    parsed = parse_scope(scope)
    assert parsed is not None
    assert parsed.permissions == frozenset(permissions)


@pytest.mark.parametrize(
    "scope",
    ["openid", "fhirUser", "launch/patient", "offline_access", "patient/Observation.sr", "patient/Observation.rr",
     "patient/Observation.x", "clinic/Observation.read", "patient/observation.read",
     "patient/Observation.read?category=x"],
)  # fmt: skip
def test_non_resource_and_malformed_scopes_grant_nothing(scope):
    assert parse_scope(scope) is None


def test_granular_scope_keeps_its_constraint():
    parsed = parse_scope(f"patient/Observation.rs?category={LAB}")
    assert parsed.constraints == (("category", LAB),)


def test_patient_scope_confines_compartment_types_to_the_launch_patient():
    decision = decide(scopes={"patient/*.read"}, resource_type="Observation", interaction="search",
                      patient_id="p-001", is_system=False)  # fmt: skip
    assert decision.clauses == (Clause("p-001"),)
    other = decide(scopes={"patient/*.read"}, resource_type="Practitioner", interaction="read",
                   patient_id="p-001", is_system=False)  # fmt: skip
    assert other.unrestricted


def test_patient_scope_never_reaches_groups_of_other_patients():
    assert not decide(scopes={"patient/*.read"}, resource_type="Group", interaction="read",
                      patient_id="p-001", is_system=False).allowed  # fmt: skip
    assert decide(scopes={"user/*.read"}, resource_type="Group", interaction="read",
                  patient_id=None, is_system=False).allowed  # fmt: skip


def test_patient_scope_without_launch_patient_grants_nothing():
    assert not decide(scopes={"patient/*.read"}, resource_type="Observation", interaction="read",
                      patient_id=None, is_system=False).allowed  # fmt: skip


def test_user_scope_is_not_confined_and_beats_a_patient_scope():
    decision = decide(scopes={"patient/Observation.rs", "user/Observation.read"}, resource_type="Observation",
                      interaction="read", patient_id="p-001", is_system=False)  # fmt: skip
    assert decision.unrestricted


def test_interaction_must_be_granted():
    assert not decide(scopes={"patient/Observation.rs"}, resource_type="Observation", interaction="create",
                      patient_id="p-001", is_system=False).allowed  # fmt: skip
    assert not decide(scopes={"user/Observation.read"}, resource_type="Condition", interaction="read",
                      patient_id=None, is_system=False).allowed  # fmt: skip
    assert decide(scopes={"user/*.write"}, resource_type="Observation", interaction="create",
                  patient_id=None, is_system=False).allowed  # fmt: skip


def test_system_scopes_only_for_backend_grants_and_only_system_scopes_for_them():
    assert not decide(scopes={"system/*.read"}, resource_type="Patient", interaction="read",
                      patient_id=None, is_system=False).allowed  # fmt: skip
    assert decide(scopes={"system/*.read"}, resource_type="Patient", interaction="read",
                  patient_id=None, is_system=True).unrestricted  # fmt: skip
    assert not decide(scopes={"user/*.read"}, resource_type="Patient", interaction="read",
                      patient_id=None, is_system=True).allowed  # fmt: skip


def test_granular_clauses_combine():
    decision = decide(scopes={f"patient/Observation.rs?category={LAB}", "patient/Condition.rs"},
                      resource_type="Observation", interaction="search", patient_id="p-002",
                      is_system=False)  # fmt: skip
    assert decision.clauses == (Clause("p-002", (("category", LAB),)),)
    assert not decision.unrestricted
