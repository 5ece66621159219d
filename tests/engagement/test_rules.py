"""Each decision rule on hand-made FHIR data, with its edge cases."""

from __future__ import annotations

from datetime import date

import pytest

from apps.engagement import fhir_extract as fx
from apps.engagement.rules import PatientData, evaluate
from apps.engagement.rules.clinical import (
    BP_RULE,
    EGFR_NSAID_RULE,
    FLU_RULE,
    HBA1C_RULE,
    PHQ9_RULE,
    season_start,
)
from apps.engagement.scoring import score_response
from tests.engagement.fixtures import PHQ9_ITEMS, bp, imm, med, obs, qr

TODAY = date(2025, 11, 15)


def data(observations=(), meds=(), imms=(), responses=(), **overrides) -> PatientData:
    values = {
        "patient": "p1",
        "today": TODAY,
        "measurements": fx.measurements(list(observations)),
        "medications": fx.medications(list(meds)),
        "immunizations": fx.immunizations(list(imms)),
        "scores": [s for s in (score_response(r) for r in responses) if s],
    }
    values.update(overrides)
    return PatientData(**values)


def run(rule, d):
    return evaluate(d, [rule])


# --- blood pressure ---


def test_bp_average_of_last_three_at_threshold_fires_warning():
    readings = [bp("b1", "2025-01-01", 150, 85), bp("b2", "2025-02-01", 135, 92), bp("b3", "2025-03-01", 135, 93),
                bp("b0", "2024-01-01", 100, 60)]  # fmt: skip
    cards = run(BP_RULE, data(readings)).cards
    assert len(cards) == 1
    c = cards[0]
    assert c["indicator"] == "warning" and "140" in c["summary"] and len(c["summary"]) <= 140
    assert set(c) >= {"uuid", "summary", "detail", "indicator", "source"} and c["source"]["url"].startswith("https")


def test_bp_just_below_threshold_does_not_fire():
    readings = [bp("b1", "2025-01-01", 139, 89), bp("b2", "2025-02-01", 139, 89), bp("b3", "2025-03-01", 139, 89)]
    assert run(BP_RULE, data(readings)).cards == []


def test_bp_only_last_three_count():
    old_high = [bp(f"h{i}", f"2024-0{i}-01", 190, 120) for i in range(1, 4)]
    recent = [bp(f"n{i}", f"2025-0{i}-01", 120, 75) for i in range(1, 4)]
    assert run(BP_RULE, data(old_high + recent)).cards == []


def test_bp_severe_is_critical_and_needs_three_readings():
    assert run(BP_RULE, data([bp("b1", "2025-01-01", 200, 120), bp("b2", "2025-02-01", 200, 120)])).cards == []
    readings = [bp(f"b{i}", f"2025-0{i}-01", 185, 112) for i in range(1, 4)]
    assert run(BP_RULE, data(readings)).cards[0]["indicator"] == "critical"


def test_bp_unknown_unit_is_ignored():
    readings = [bp(f"b{i}", f"2025-0{i}-01", 185, 112, unit="psi") for i in range(1, 4)]
    assert run(BP_RULE, data(readings)).cards == []


def test_bp_not_evaluated_without_observations():
    result = run(BP_RULE, data(measurements=None))
    assert result.cards == [] and result.not_evaluated == [BP_RULE]


# --- HbA1c ---


def test_hba1c_at_nine_fires():
    cards = run(HBA1C_RULE, data([obs("a1", "4548-4", "2025-05-01", value=9.0, unit="%")])).cards
    assert len(cards) == 1 and cards[0]["indicator"] == "warning"


def test_hba1c_latest_only():
    d = data([obs("a1", "4548-4", "2025-01-01", value=10.2), obs("a2", "4548-4", "2025-05-01", value=7.0)])
    assert run(HBA1C_RULE, d).cards == []


def test_hba1c_missing_unit_and_ifcc_units():
    assert run(HBA1C_RULE, data([obs("a1", "4548-4", "2025-05-01", value=9.5, unit=None)])).cards
    assert run(HBA1C_RULE, data([obs("a1", "59261-8", "2025-05-01", value=80, unit="mmol/mol")])).cards
    assert not run(HBA1C_RULE, data([obs("a1", "59261-8", "2025-05-01", value=53, unit="mmol/mol")])).cards


def test_hba1c_value_string():
    assert run(HBA1C_RULE, data([obs("a1", "4548-4", "2025-05-01", string="9.8 %")])).cards
    assert not run(HBA1C_RULE, data([obs("a1", "4548-4", "2025-05-01", string="pending")])).cards


# --- eGFR + NSAID ---


def test_egfr_below_60_with_nsaid_fires():
    d = data([obs("e1", "33914-3", "2025-05-01", value=48, unit="mL/min/{1.73_m2}")], [med("m1", rx="5640")])
    cards = run(EGFR_NSAID_RULE, d).cards
    assert len(cards) == 1 and cards[0]["indicator"] == "warning"


def test_egfr_without_nsaid_or_normal_does_not_fire():
    assert not run(EGFR_NSAID_RULE, data([obs("e1", "33914-3", "2025-05-01", value=48, unit="mL/min")],
                                         [med("m1", rx="6809", text="Metformin")])).cards  # fmt: skip
    assert not run(EGFR_NSAID_RULE, data([obs("e1", "33914-3", "2025-05-01", value=60, unit="mL/min")],
                                         [med("m1", rx="5640")])).cards  # fmt: skip


def test_egfr_nsaid_by_atc_or_name_only_and_stopped_ignored():
    low = [obs("e1", "33914-3", "2025-05-01", value=25, unit="mL/min/{1.73_m2}")]
    by_atc = run(EGFR_NSAID_RULE, data(low, [med("m1", atc="M01AE02")])).cards
    assert by_atc and by_atc[0]["indicator"] == "critical"
    assert run(EGFR_NSAID_RULE, data(low, [med("m1", text="Voltaren (diclofenac) 50 mg")])).cards
    assert not run(EGFR_NSAID_RULE, data(low, [med("m1", rx="5640", status="stopped")])).cards


def test_egfr_value_string_below():
    d = data([obs("e1", "33914-3", "2025-05-01", string="<60")], [med("m1", rx="7258")])
    assert run(EGFR_NSAID_RULE, d).cards


def test_egfr_rule_not_evaluated_without_medications():
    assert run(EGFR_NSAID_RULE, data(medications=None)).not_evaluated == [EGFR_NSAID_RULE]


# --- influenza ---


def test_flu_season_boundaries():
    assert season_start(date(2025, 11, 15)) == date(2025, 7, 1)
    assert season_start(date(2026, 3, 1)) == date(2025, 7, 1)
    assert season_start(date(2025, 7, 1)) == date(2025, 7, 1)


def test_flu_missing_this_season_fires_info():
    cards = run(FLU_RULE, data(imms=[imm("i1", "2024-10-15")])).cards
    assert len(cards) == 1 and cards[0]["indicator"] == "info" and "2025" in cards[0]["summary"]


def test_flu_given_this_season_by_text_only():
    assert not run(FLU_RULE, data(imms=[imm("i1", "2025-10-02", cvx=None, text="流感疫苗")])).cards


def test_flu_not_done_does_not_count_and_none_on_record_fires():
    assert run(FLU_RULE, data(imms=[imm("i1", "2025-10-02", status="not-done")])).cards
    assert run(FLU_RULE, data(imms=[])).cards


def test_flu_not_evaluated_when_immunizations_unreadable():
    assert run(FLU_RULE, data(immunizations=None)).not_evaluated == [FLU_RULE]


# --- PHQ-9 ---

PHQ = "http://loinc.org/q/44249-1"


def test_phq9_ten_fires_nine_does_not():
    ten = qr("q1", PHQ, PHQ9_ITEMS, [2, 2, 2, 2, 1, 1, 0, 0, 0])
    nine = qr("q2", PHQ, PHQ9_ITEMS, [2, 2, 2, 1, 1, 1, 0, 0, 0], authored="2025-06-01")
    assert run(PHQ9_RULE, data(responses=[ten])).cards[0]["indicator"] == "warning"
    assert not run(PHQ9_RULE, data(responses=[ten, nine])).cards  # the latest is 9


def test_phq9_item9_positive_is_critical_even_below_ten():
    cards = run(PHQ9_RULE, data(responses=[qr("q1", PHQ, PHQ9_ITEMS, [0, 0, 0, 0, 0, 0, 0, 0, 1])])).cards
    assert cards and cards[0]["indicator"] == "critical"


def test_phq9_from_observation_total_without_response():
    from apps.engagement.scoring import Score

    score = Score("phq9", 14, "moderate", False, (), None, fx.parse_datetime("2025-05-01"), "o1")
    assert run(PHQ9_RULE, data(scores=[score])).cards


def test_dismissal_fingerprint_changes_with_data():
    a = run(HBA1C_RULE, data([obs("a1", "4548-4", "2025-05-01", value=9.5)])).cards[0]
    b = run(HBA1C_RULE, data([obs("a2", "4548-4", "2025-06-01", value=9.5)])).cards[0]
    again = run(HBA1C_RULE, data([obs("a1", "4548-4", "2025-05-01", value=9.5)])).cards[0]
    assert a["fingerprint"] != b["fingerprint"] and a["uuid"] == again["uuid"]


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_cards_render_in_both_languages(lang):
    from django.utils import translation

    with translation.override(lang):
        cards = evaluate(data([obs("a1", "4548-4", "2025-05-01", value=9.5)], imms=[])).cards
    assert {c["rule"] for c in cards} == {"hba1c-high", "influenza-vaccine-due"}
