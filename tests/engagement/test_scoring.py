"""PHQ-9 and GAD-7 standard scoring on hand-made QuestionnaireResponses."""

from __future__ import annotations

import pytest

from apps.engagement.scoring import GAD7, PHQ9, instrument_for, points, score_response
from tests.engagement.fixtures import GAD7_ITEMS, PHQ9_ITEMS, qr

PHQ = "http://loinc.org/q/44249-1"
GAD = "http://loinc.org/q/69737-5"


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (14, "moderate"),
     (15, "moderately-severe"), (19, "moderately-severe"), (20, "severe"), (27, "severe")],
)  # fmt: skip
def test_phq9_bands(total, band):
    assert PHQ9.band(total).code == band


@pytest.mark.parametrize(
    ("total", "band"), [(0, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"), (15, "severe"), (21, "severe")]
)
def test_gad7_bands(total, band):
    assert GAD7.band(total).code == band


def test_phq9_sum_max_and_item9():
    score = score_response(qr("q", PHQ, PHQ9_ITEMS, [3] * 9))
    assert (score.total, score.band_code, score.complete, score.self_harm) == (27, "severe", True, 3)


def test_gad7_integer_answers():
    score = score_response(qr("q", GAD, GAD7_ITEMS, [1, 2, 0, 1, 3, 2, 1], style="integer"))
    assert (score.instrument, score.total, score.band_code) == ("gad7", 10, "moderate")


def test_ordinal_value_extension_with_local_codes():
    score = score_response(qr("q", PHQ + "|3.0", PHQ9_ITEMS, [1] * 9, style="ordinal"))
    assert score.total == 9


def test_incomplete_response_uses_recorded_total_or_none():
    partial = [1, 1, 1, 1, 1, 1, 1, 1, None]
    assert score_response(qr("q", PHQ, PHQ9_ITEMS, partial)).total is None
    with_total = score_response(qr("q", PHQ, PHQ9_ITEMS, partial, total=12))
    assert (with_total.total, with_total.complete) == (12, False)
    assert score_response(qr("q", PHQ, PHQ9_ITEMS, partial, total=99)).total is None


def test_unknown_questionnaire_is_not_scored():
    assert score_response(qr("q", "http://example.org/Questionnaire/sleep", ["a"], [1])) is None


def test_questionnaire_item_codes_map_local_link_ids():
    questionnaire = {"code": [{"system": "http://loinc.org", "code": "44249-1"}],
                     "item": [{"linkId": f"q{i}", "code": [{"system": "http://loinc.org", "code": c}]}
                              for i, c in enumerate(PHQ9_ITEMS)]}  # fmt: skip
    response = {"resourceType": "QuestionnaireResponse", "questionnaire": "Questionnaire/local-phq",
                "item": [{"linkId": f"q{i}", "answer": [{"valueInteger": 2}]} for i in range(9)]}  # fmt: skip
    assert score_response(response, questionnaire).total == 18


def test_points_refuses_out_of_range_and_reads_text():
    assert points({"valueInteger": 4}) is None
    assert points({"valueCoding": {"display": "Nearly every day"}}) == 3
    assert points({"valueString": "garbage"}) is None


def test_instrument_for_variants():
    assert instrument_for("http://loinc.org/q/44249-1|2.70") is PHQ9
    assert instrument_for("https://ehr.example/Questionnaire?code=69737-5") is GAD7
    assert instrument_for("Questionnaire/x", ["69737-5"]) is GAD7
    assert instrument_for(None) is None
