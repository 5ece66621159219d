"""FHIR extraction on hand-made resources, including the awkward ones EHRs send."""

from __future__ import annotations

import pytest

from apps.engagement import fhir_extract as fx
from tests.engagement.fixtures import bp, imm, med, obs


def one(resource):
    items = fx.measurements([resource])
    assert len(items) == 1
    return items[0]


def test_lab_with_reference_range_flags_high():
    m = one(obs("o1", "4548-4", "2025-01-02", value=9.4, unit="%", low=4.0, high=5.6))
    assert (m.key, m.value, m.unit, m.unit_ok, m.flag, m.range_source) == ("hba1c", 9.4, "%", True, "high", "ehr")


def test_lab_below_range_is_low_and_critical_limit_wins():
    assert one(obs("o1", "2823-3", "2025-01-02", value=3.1, unit="mmol/L", low=3.5, high=5.1)).flag == "low"
    assert one(obs("o2", "2823-3", "2025-01-02", value=6.8, unit="mmol/L", low=3.5, high=5.1)).flag == "critical"


def test_critical_interpretation_code():
    assert one(obs("o1", "2345-7", "2025-01-02", value=120, unit="mg/dL", interp="HH")).flag == "critical"


def test_no_reference_range_uses_interpretation_or_nothing():
    assert one(obs("o1", "2160-0", "2025-01-02", value=2.1, unit="mg/dL", interp="H")).flag == "high"
    m = one(obs("o2", "2160-0", "2025-01-02", value=2.1, unit="mg/dL"))
    assert m.flag == "" and m.low is None and m.range_source == ""


def test_missing_unit_assumed_when_plausible():
    m = one(obs("o1", "4548-4", "2025-01-02", value=7.1, unit=None))
    assert m.unit_ok and m.unit_assumed and m.unit == "%" and m.value == 7.1


def test_missing_unit_hba1c_in_ifcc_range_is_converted():
    m = one(obs("o1", "4548-4", "2025-01-02", value=75, unit=None))
    assert m.unit_ok and m.value == pytest.approx(9.013, abs=0.01)


def test_unknown_unit_is_not_usable():
    m = one(obs("o1", "4548-4", "2025-01-02", value=7.1, unit="furlongs"))
    assert not m.unit_ok and m.flag == ""


def test_unit_conversion_creatinine_umol():
    m = one(obs("o1", "2160-0", "2025-01-02", value=176.8, unit="umol/L", low=53, high=115))
    assert m.unit == "mg/dL" and m.value == pytest.approx(2.0, abs=0.01) and m.flag == "high"
    assert m.high == pytest.approx(1.3, abs=0.01)


def test_value_string_with_comparator():
    m = one(obs("o1", "33914-3", "2025-01-02", string="<60 mL/min/1.73m2"))
    assert (m.value, m.comparator, m.unit_ok) == (60.0, "<", True)


def test_value_string_not_a_number():
    m = one(obs("o1", "4548-4", "2025-01-02", string="sample haemolysed"))
    assert m.value is None and m.text == "sample haemolysed"


def test_unusual_coding_oid_system_and_bare_code_and_text():
    assert one(obs("o1", "4548-4", "2025-01-02", value=7, system="urn:oid:2.16.840.1.113883.6.1")).key == "hba1c"
    assert one(obs("o2", "4548-4", "2025-01-02", value=7, system=None)).key == "hba1c"
    local = one(obs("o3", "LAB-123", "2025-01-02", value=7, system="urn:local", text="HbA1c (NGSP)"))
    assert local.key == "hba1c"


def test_bp_panel_gives_two_components_and_pairs():
    items = fx.measurements([bp("b1", "2025-01-01T09:00:00+08:00", 150, 95)])
    assert sorted(m.key for m in items) == ["dbp", "sbp"]
    pairs = fx.blood_pressures(items)
    assert [(p.systolic, p.diastolic) for p in pairs] == [(150, 95)]


def test_bp_as_separate_observations_and_kpa():
    items = fx.measurements([
        obs("s1", "8480-6", "2025-01-01T09:00:00Z", value=20, unit="kPa", category="vital-signs"),
        obs("d1", "8462-4", "2025-01-01T09:00:00Z", value=12, unit="kPa", category="vital-signs"),
    ])  # fmt: skip
    pairs = fx.blood_pressures(items)
    assert len(pairs) == 1 and pairs[0].systolic == pytest.approx(150, abs=0.1)


def test_hostile_values_are_skipped_not_raised():
    junk = [
        "not a dict",
        {"resourceType": "Observation", "code": "nope", "valueQuantity": {"value": "NaN"}},
        {"resourceType": "Observation", "id": 5, "valueQuantity": {"value": float("nan")}, "effectiveDateTime": 3},
        {"resourceType": "Observation", "status": "entered-in-error", "code": {"coding": [{"code": "4548-4"}]}},
    ]
    items = fx.measurements(junk)
    assert all(m.value is None for m in items) and len(items) == 2


def test_dates_partial_and_timezones():
    assert fx.parse_datetime("2024").year == 2024
    assert fx.parse_datetime("2024-05").month == 5
    assert fx.parse_datetime("2024-05-06T10:00:00Z").tzinfo is not None
    assert fx.parse_datetime("2024-13-01") is None
    assert fx.parse_datetime(20240101) is None


def test_medications_and_immunizations():
    meds = fx.medications([med("m1", rx="5640", text="Ibuprofen"), med("m2", text="x", status="stopped")])
    assert [m.id for m in fx.active_medications(meds)] == ["m1"]
    vacc = fx.immunizations([imm("i1", "2024-10-10"), imm("i2", "2024-01-01", cvx=None, text="流感疫苗"),
                             imm("i3", "2024-01-01", cvx="213", text="COVID-19")])  # fmt: skip
    assert [v.influenza for v in vacc] == [True, True, False]
