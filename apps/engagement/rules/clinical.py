"""The rules. Each names its source; thresholds are the ones the source uses."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.engagement import codes
from apps.engagement.fhir_extract import _EPOCH, Measurement, active_medications, blood_pressures
from apps.engagement.rules import PatientData, Rule, card


def _latest(data: PatientData, key: str) -> Measurement | None:
    for m in data.measurements or []:
        if m.key == key and m.value is not None and m.unit_ok and m.status not in ("preliminary", "registered"):
            return m
    return None


def _when(m: Any) -> str:
    return date_format(m.when, "SHORT_DATE_FORMAT") if getattr(m, "when", None) else _("date unknown")


# --- blood pressure ----------------------------------------------------------------------------------------------


def _bp(data: PatientData) -> dict | None:
    readings = blood_pressures(data.measurements or [])[:3]
    if len(readings) < 3:
        return None
    systolic = sum(r.systolic for r in readings) / 3
    diastolic = sum(r.diastolic for r in readings) / 3
    if systolic >= 180 or diastolic >= 110:
        indicator = "critical"
    elif systolic >= 140 or diastolic >= 90:
        indicator = "warning"
    else:
        return None
    summary = _("Average of the last 3 blood pressures is %(sys).0f/%(dia).0f mmHg (≥ 140/90)") % {
        "sys": systolic,
        "dia": diastolic,
    }
    detail = _(
        "Readings: %(readings)s. An office blood pressure of 140/90 mmHg or more on repeated measurement meets "
        "the definition of hypertension; 180/110 or more is grade 3. Consider confirming with home or ambulatory "
        "readings and reviewing treatment."
    ) % {"readings": "; ".join(f"{r.systolic:.0f}/{r.diastolic:.0f} ({_when(r)})" for r in readings)}
    return card(BP_RULE, data.patient, summary=summary, detail=detail, indicator=indicator,
                evidence=[f"{r.id}@{r.when}" for r in readings])  # fmt: skip


BP_RULE = Rule(
    id="bp-average-high",
    title=gettext_lazy("Blood pressure above target"),
    needs=("measurements",),
    source_label="2023 ESH Guidelines for the management of arterial hypertension",
    source_url="https://doi.org/10.1097/HJH.0000000000003480",
    evaluate=_bp,
)


# --- HbA1c -------------------------------------------------------------------------------------------------------


def _hba1c(data: PatientData) -> dict | None:
    latest = _latest(data, "hba1c")
    if latest is None or latest.value is None or latest.value < 9 or latest.comparator == "<":
        return None
    summary = _("Latest HbA1c is %(value).1f %% (≥ 9 %%): diabetes poorly controlled") % {"value": latest.value}
    detail = _(
        "HbA1c %(value).1f %% on %(date)s. An HbA1c above 9 %% is the quality-measure threshold for poor "
        "glycaemic control; review the treatment plan, adherence and hypoglycaemia risk."
    ) % {"value": latest.value, "date": _when(latest)}
    return card(HBA1C_RULE, data.patient, summary=summary, detail=detail, indicator="warning",
                evidence=[f"{latest.id}@{latest.when}"])  # fmt: skip


HBA1C_RULE = Rule(
    id="hba1c-high",
    title=gettext_lazy("HbA1c 9 percent or more"),
    needs=("measurements",),
    source_label="ADA Standards of Care in Diabetes—2025, §6 Glycemic Goals; NCQA HEDIS GSD (>9.0 %)",
    source_url="https://doi.org/10.2337/dc25-S006",
    evaluate=_hba1c,
)


# --- eGFR + NSAID ------------------------------------------------------------------------------------------------


def is_nsaid(medication: Any) -> bool:
    for system, code in medication.codes:
        if system == codes.ATC and code.upper().startswith("M01A"):
            return True
        if system == codes.RXNORM and code in codes.NSAID_RXNORM:
            return True
    return bool(codes.NSAID_TEXT.search(f"{medication.name.display} {medication.name.text}"))


def _egfr_nsaid(data: PatientData) -> dict | None:
    egfr = _latest(data, "egfr")
    if egfr is None or egfr.value is None:
        return None
    below = egfr.value < 60 or (egfr.comparator == "<" and egfr.value <= 60)
    if not below or egfr.comparator == ">":
        return None
    nsaids = [m for m in active_medications(data.medications or []) if is_nsaid(m)]
    if not nsaids:
        return None
    names = ", ".join(str(m.name) for m in nsaids)
    indicator = "critical" if egfr.value < 30 else "warning"
    summary = _("eGFR %(value)s with an NSAID on the medication list (%(names)s)") % {
        "value": f"{egfr.comparator}{egfr.value:.0f}",
        "names": names,
    }
    detail = _(
        "eGFR %(value)s mL/min/1.73 m² on %(date)s (below 60: chronic kidney disease G3 or worse). NSAIDs can "
        "worsen kidney function and should be avoided or limited in chronic kidney disease; consider an "
        "alternative such as acetaminophen."
    ) % {"value": f"{egfr.comparator}{egfr.value:.0f}", "date": _when(egfr)}
    return card(EGFR_NSAID_RULE, data.patient, summary=summary, detail=detail, indicator=indicator,
                evidence=[f"{egfr.id}@{egfr.when}", *sorted(m.id for m in nsaids)])  # fmt: skip


EGFR_NSAID_RULE = Rule(
    id="egfr-nsaid",
    title=gettext_lazy("Reduced kidney function with an NSAID"),
    needs=("measurements", "medications"),
    source_label="KDIGO 2024 Clinical Practice Guideline for the Evaluation and Management of CKD (rec. 3.11)",
    source_url="https://kdigo.org/guidelines/ckd-evaluation-and-management/",
    evaluate=_egfr_nsaid,
)


# --- influenza vaccine -------------------------------------------------------------------------------------------


def season_start(today: date) -> date:
    """Northern-hemisphere influenza season (Taiwan CDC's campaign starts 1 October): the season of `today`
    runs from 1 July to 30 June."""
    return date(today.year if today.month >= 7 else today.year - 1, 7, 1)


def _flu(data: PatientData) -> dict | None:
    start = season_start(data.today)
    for vaccination in data.immunizations or []:
        if vaccination.influenza and vaccination.completed and vaccination.when and vaccination.when.date() >= start:
            return None
    last = next((v for v in data.immunizations or [] if v.influenza and v.completed and v.when), None)
    season = f"{start.year}–{start.year + 1}"
    summary = _("No influenza vaccine recorded for the %(season)s season") % {"season": season}
    if last:
        detail = _("The last influenza vaccine on record was given on %(date)s. Annual vaccination is "
                   "recommended for everyone aged 6 months and older.") % {"date": _when(last)}  # fmt: skip
    else:
        detail = _("No influenza vaccine is on record. Annual vaccination is recommended for everyone aged "
                   "6 months and older.")  # fmt: skip
    return card(FLU_RULE, data.patient, summary=summary, detail=detail, indicator="info",
                evidence=[season, last.id if last else "none"])  # fmt: skip


FLU_RULE = Rule(
    id="influenza-vaccine-due",
    title=gettext_lazy("Influenza vaccine due"),
    needs=("immunizations",),
    source_label="CDC ACIP: Prevention and Control of Seasonal Influenza with Vaccines, 2024–25",
    source_url="https://www.cdc.gov/acip-recs/hcp/vaccine-specific/flu.html",
    evaluate=_flu,
)


# --- PHQ-9 -------------------------------------------------------------------------------------------------------


def _phq9(data: PatientData) -> dict | None:
    scores = [s for s in data.scores or [] if s.instrument == "phq9" and s.total is not None]
    if not scores:
        return None
    latest = max(scores, key=lambda s: s.when or _EPOCH)
    self_harm = latest.self_harm is not None and latest.self_harm > 0
    if latest.total < 10 and not self_harm:
        return None
    indicator = "critical" if self_harm or latest.total >= 20 else "warning"
    summary = _("PHQ-9 score %(score)d (≥ 10): possible major depression") % {"score": latest.total}
    if latest.total < 10:
        summary = _("PHQ-9 item 9 answered positively: ask about thoughts of self-harm")
    detail = _(
        "PHQ-9 total %(score)d of 27 on %(date)s. A score of 10 or more has 88 %% sensitivity and 88 %% "
        "specificity for major depression; 20 or more is severe."
    ) % {"score": latest.total, "date": _when(latest)}
    if self_harm:
        detail += " " + _("Item 9 (thoughts of being better off dead or of self-harm) was answered positively: "
                          "assess suicide risk today.")  # fmt: skip
    return card(PHQ9_RULE, data.patient, summary=summary, detail=detail, indicator=indicator,
                evidence=[f"{latest.response_id}@{latest.when}:{latest.total}"])  # fmt: skip


PHQ9_RULE = Rule(
    id="phq9-positive",
    title=gettext_lazy("PHQ-9 of 10 or more"),
    needs=("scores",),
    source_label="Kroenke K, Spitzer RL, Williams JBW. The PHQ-9. J Gen Intern Med 2001;16:606–613",
    source_url="https://doi.org/10.1046/j.1525-1497.2001.016009606.x",
    evaluate=_phq9,
)

RULES = [BP_RULE, HBA1C_RULE, EGFR_NSAID_RULE, FLU_RULE, PHQ9_RULE]
RULES_BY_ID = {rule.id: rule for rule in RULES}
