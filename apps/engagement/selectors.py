"""Reads for the engagement pages: what each page shows, assembled from the EHR reads (fhir_reads) and
CareLaunch's own rows (dismissals, stored responses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from apps.engagement import charts, codes, fhir_reads
from apps.engagement.codes import ANALYTES, LAB_KEYS
from apps.engagement.context import Context
from apps.engagement.fhir_extract import (
    _EPOCH,
    BloodPressure,
    Measurement,
    active_medications,
    age_on,
    blood_pressures,
    parse_datetime,
)
from apps.engagement.models import CardDismissal, StoredResponse
from apps.engagement.rules import PatientData, evaluate
from apps.engagement.scoring import INSTRUMENTS, Score
from apps.smart import selectors as smart_selectors

SUMMARY_READS = ("patient", "observations", "conditions", "medications", "allergies", "immunizations",
                 "encounters", "responses")  # fmt: skip
# Vital-sign pages: the key in the URL → the analytes it charts.
VITAL_PAGES = {"bp": ("sbp", "dbp"), "hr": ("hr",), "weight": ("weight", "bmi"), "spo2": ("spo2",),
               "temp": ("temp",), "rr": ("rr",)}  # fmt: skip
SUMMARY_VITALS = ("bp", "hr", "weight", "bmi", "spo2", "temp", "rr")
TABLE_PAGE_SIZE = 50
FLAGS = ("critical", "high", "low", "abnormal", "normal")


def unit_label(unit: str) -> str:
    return str(codes.UNIT_LABELS.get(unit, unit))


def analyte_label(key: str) -> str:
    if key == "bp":
        return _("Blood pressure")
    return str(ANALYTES[key].label) if key in ANALYTES else key


# --- patient banner ----------------------------------------------------------------------------------------------


def banner(patient: dict[str, Any] | None, allergy_list: list | None, today: date) -> dict[str, Any] | None:
    if patient is None:
        return None
    data = smart_selectors.patient_banner(patient)
    birth = parse_datetime(patient.get("birthDate"))
    data["birth"] = birth
    data["age"] = age_on(birth, today)
    data["allergy_status"] = (
        "unknown" if allergy_list is None else ("present" if any(a.active for a in allergy_list) else "none")
    )
    data["allergy_count"] = len([a for a in allergy_list or [] if a.active])
    data["severe_allergy"] = any(a.active and a.criticality == "high" for a in allergy_list or [])
    return data


# --- measurements ------------------------------------------------------------------------------------------------


def series_for(items: list[Measurement], key: str) -> list[tuple[datetime, float]]:
    return [(m.when, m.value) for m in items if m.key == key and m.value is not None and m.unit_ok and m.when]


def latest_vitals(items: list[Measurement]) -> list[dict[str, Any]]:
    rows = []
    pressures = blood_pressures(items)
    for key in SUMMARY_VITALS:
        if key == "bp":
            if not pressures:
                continue
            latest = pressures[0]
            points = [(p.when, p.systolic) for p in pressures if p.when]
            systolic_flag = _bp_flag(latest)
            rows.append({
                "key": "bp", "page": "bp", "label": analyte_label("bp"),
                "value": f"{latest.systolic:.0f}/{latest.diastolic:.0f}", "unit": unit_label("mm[Hg]"),
                "when": latest.when, "flag": systolic_flag,
                "spark": charts.sparkline(points, label=_("Systolic trend: %(trend)s") % {
                    "trend": charts.trend_words(points)}),
            })  # fmt: skip
            continue
        latest = next((m for m in items if m.key == key and m.value is not None and m.unit_ok), None)
        if latest is None:
            continue
        points = series_for(items, key)
        rows.append({
            "key": key, "page": "weight" if key == "bmi" else key, "label": analyte_label(key),
            "value": _fmt(latest.value, ANALYTES[key].decimals), "unit": unit_label(latest.unit),
            "when": latest.when, "flag": latest.flag,
            "spark": charts.sparkline(points, label=_("%(name)s trend: %(trend)s") % {
                "name": analyte_label(key), "trend": charts.trend_words(points)}),
        })  # fmt: skip
    return rows


def _bp_flag(bp: BloodPressure) -> str:
    if bp.systolic >= 180 or bp.diastolic >= 120:
        return "critical"
    if bp.systolic >= 130 or bp.diastolic >= 80:
        return "high"
    if bp.systolic < 90 or bp.diastolic < 60:
        return "low"
    return "normal"


def _fmt(value: float | None, decimals: int) -> str:
    if value is None:
        return ""
    return f"{value:.{decimals}f}"


def recent_labs(items: list[Measurement], limit: int = 12) -> list[Measurement]:
    """The latest result of each laboratory test, newest first."""
    seen: set[str] = set()
    out = []
    for m in items:
        if m.category != "laboratory":
            continue
        group = m.key or m.code or str(m.name)
        if group in seen:
            continue
        seen.add(group)
        out.append(m)
        if len(out) >= limit:
            break
    return out


def lab_rows(items: list[Measurement]) -> list[dict[str, Any]]:
    return [
        {"m": m, "label": str(m.name) or analyte_label(m.key), "value": _value_text(m), "unit": unit_label(m.unit),
         "range": range_text(m), "page": m.key if m.key in LAB_KEYS else ""}
        for m in recent_labs(items)
    ]  # fmt: skip


def _value_text(m: Measurement) -> str:
    if m.value is not None and m.unit_ok and m.key in ANALYTES:
        return f"{m.comparator}{m.value:.{ANALYTES[m.key].decimals}f}"
    return m.text or "—"


def range_text(m: Measurement) -> str:
    decimals = ANALYTES[m.key].decimals if m.key in ANALYTES else 2
    if m.low is not None and m.high is not None:
        return f"{m.low:.{decimals}f}–{m.high:.{decimals}f}"
    if m.low is not None:
        return f"≥ {m.low:.{decimals}f}"
    if m.high is not None:
        return f"≤ {m.high:.{decimals}f}"
    return ""


# --- questionnaire scores ----------------------------------------------------------------------------------------


def scores(reads: fhir_reads.Reads) -> list[Score] | None:
    """PHQ-9/GAD-7 scores from QuestionnaireResponses and from total-score Observations (deduplicated by date)."""
    responses = reads.data("responses")
    observations = reads.data("observations")
    if responses is None and observations is None:
        return None
    out: list[Score] = [r.score for r in responses or [] if r.score is not None and r.score.total is not None]
    seen = {(s.instrument, s.when.date() if s.when else None, s.total) for s in out}
    for m in observations or []:
        if m.key in INSTRUMENTS and m.value is not None and float(m.value).is_integer():
            instrument = INSTRUMENTS[m.key]
            total = int(m.value)
            if not 0 <= total <= instrument.maximum:
                continue
            marker = (m.key, m.when.date() if m.when else None, total)
            if marker in seen:
                continue
            seen.add(marker)
            band = instrument.band(total)
            out.append(Score(m.key, total, band.code if band else "", False, (), None, m.when, m.id))
    out.sort(key=lambda s: s.when or _EPOCH, reverse=True)
    return out


def score_rows(score_list: list[Score] | None) -> dict[str, list[Score]]:
    by: dict[str, list[Score]] = {key: [] for key in INSTRUMENTS}
    for score in score_list or []:
        by[score.instrument].append(score)
    return by


# --- decision support --------------------------------------------------------------------------------------------


def patient_data(ctx: Context, reads: fhir_reads.Reads) -> PatientData:
    return PatientData(
        patient=ctx.patient_ref,
        today=timezone.localdate(),
        measurements=reads.data("observations"),
        medications=reads.data("medications"),
        immunizations=reads.data("immunizations"),
        scores=scores(reads),
    )


def cards_for(ctx: Context, reads: fhir_reads.Reads) -> tuple[list[dict], list, int]:
    """(cards still to show, rules not evaluated, number dismissed)."""
    evaluation = evaluate(patient_data(ctx, reads))
    dismissed = set(
        CardDismissal.objects.filter(tenant=ctx.tenant, patient=ctx.patient_ref).values_list("rule", "fingerprint")
    )
    shown = [c for c in evaluation.cards if (c["rule"], c["fingerprint"]) not in dismissed]
    return shown, evaluation.not_evaluated, len(evaluation.cards) - len(shown)


# --- summary -----------------------------------------------------------------------------------------------------


@dataclass
class Section:
    status: str  # ok | denied | missing | error
    items: Any = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Summary:
    banner: dict[str, Any] | None
    sections: dict[str, Section] = field(default_factory=dict)
    cards: list[dict] = field(default_factory=list)
    not_evaluated: list = field(default_factory=list)
    dismissed_count: int = 0
    launch_encounter: str = ""
    reads: fhir_reads.Reads | None = None


def section(reads: fhir_reads.Reads, name: str, transform=lambda data: data) -> Section:
    result = reads[name]
    return Section(result.status, transform(result.data) if result.ok else None)


def summary(ctx: Context) -> Summary:
    reads = fhir_reads.read(ctx.grant, SUMMARY_READS)
    today = timezone.localdate()
    out = Summary(banner=banner(reads.data("patient"), reads.data("allergies"), today), reads=reads)
    out.sections["problems"] = section(reads, "conditions", lambda items: [p for p in items if p.active])
    out.sections["medications"] = section(reads, "medications", active_medications)
    out.sections["allergies"] = section(reads, "allergies", lambda items: [a for a in items if a.active])
    out.sections["vitals"] = section(reads, "observations", latest_vitals)
    out.sections["labs"] = section(reads, "observations", lab_rows)
    out.sections["immunizations"] = section(reads, "immunizations", lambda items: items[:10])
    out.sections["encounters"] = section(reads, "encounters", lambda items: _encounters(items, ctx.grant.encounter))
    out.sections["scores"] = Section("ok" if scores(reads) is not None else reads["responses"].status,
                                     score_rows(scores(reads)))  # fmt: skip
    out.launch_encounter = ctx.grant.encounter
    if ctx.is_clinician:
        out.cards, out.not_evaluated, out.dismissed_count = cards_for(ctx, reads)
    return out


def _encounters(items: list, launch_encounter: str) -> list:
    recent = items[:8]
    if launch_encounter and all(v.id != launch_encounter for v in recent):
        recent = [v for v in items if v.id == launch_encounter][:1] + recent
    return recent


# --- measurement detail pages ------------------------------------------------------------------------------------


@dataclass
class TableQuery:
    sort: str = "-date"
    flag: str = ""
    start: date | None = None
    end: date | None = None
    page: int = 1


def parse_table_query(params: Any) -> TableQuery:
    """Sorting/filtering from the query string, each value checked against what it may be."""
    query = TableQuery()
    sort = params.get("sort", "")
    if sort in ("date", "-date", "value", "-value"):
        query.sort = sort
    flag = params.get("flag", "")
    if flag in FLAGS:
        query.flag = flag
    for name in ("from", "to"):
        value = params.get(name, "")
        try:
            parsed = date.fromisoformat(value) if value and len(value) == 10 else None
        except ValueError:
            parsed = None
        setattr(query, "start" if name == "from" else "end", parsed)
    try:
        query.page = max(1, min(10_000, int(params.get("page", "1"))))
    except ValueError:
        query.page = 1
    return query


def _filter_rows(rows: list[dict[str, Any]], query: TableQuery) -> list[dict[str, Any]]:
    if query.flag:
        rows = [r for r in rows if r["flag"] == query.flag]
    if query.start:
        rows = [r for r in rows if r["when"] and timezone.localdate(r["when"]) >= query.start]
    if query.end:
        rows = [r for r in rows if r["when"] and timezone.localdate(r["when"]) <= query.end]
    reverse = query.sort.startswith("-")
    if query.sort.endswith("value"):
        rows = sorted(rows, key=lambda r: r["sort_value"] if r["sort_value"] is not None else float("-inf"),
                      reverse=reverse)  # fmt: skip
    else:
        rows = sorted(rows, key=lambda r: r["when"] or _EPOCH, reverse=reverse)
    return rows


@dataclass
class Detail:
    key: str
    title: str
    chart: Any
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    query: TableQuery
    unit: str
    unit_key: str
    status: str
    latest: dict[str, Any] | None
    band_text: str = ""


def measurement_detail(ctx: Context, key: str, params: Any) -> tuple[Detail, fhir_reads.Reads]:
    reads = fhir_reads.read(ctx.grant, ["observations"])
    query = parse_table_query(params)
    items = reads.data("observations")
    status = reads["observations"].status
    analytes = VITAL_PAGES.get(key, (key,))
    title = analyte_label("bp" if key == "bp" else ("weight" if key == "weight" else key))
    if key == "weight":
        title = _("Weight and BMI")
    if items is None:
        return Detail(key, title, None, [], 0, 1, 1, query, "", "", status, None), reads
    rows: list[dict[str, Any]] = []
    series: list[charts.Series] = []
    band: tuple[float | None, float | None] = (None, None)
    band_text = ""
    thresholds: list[tuple[float, str]] = []
    first = ANALYTES[analytes[0]]
    if key == "bp":
        pressures = blood_pressures(items)
        for p in pressures:
            rows.append({"when": p.when, "value": f"{p.systolic:.0f}/{p.diastolic:.0f}", "sort_value": p.systolic,
                         "flag": _bp_flag(p), "range": "< 130/80", "id": p.id, "text": ""})  # fmt: skip
        series = [
            charts.Series(str(ANALYTES["sbp"].label), "s1", [(p.when, p.systolic) for p in pressures if p.when]),
            charts.Series(str(ANALYTES["dbp"].label), "s2", [(p.when, p.diastolic) for p in pressures if p.when]),
        ]
        thresholds = [(140, _("140 mmHg systolic (hypertension threshold)")),
                      (90, _("90 mmHg diastolic (hypertension threshold)"))]  # fmt: skip
        band_text = _("Dashed lines: 140/90 mmHg, the threshold for hypertension.")
    else:
        for index, analyte_key in enumerate(analytes):
            analyte = ANALYTES[analyte_key]
            measured = [m for m in items if m.key == analyte_key]
            for m in measured:
                rows.append({"when": m.when, "value": _value_text(m), "sort_value": m.value if m.unit_ok else None,
                             "flag": m.flag, "range": range_text(m), "id": m.id, "text": m.text,
                             "name": str(analyte.label), "unit": unit_label(m.unit)})  # fmt: skip
            series.append(charts.Series(str(analyte.label), f"s{index + 1}", series_for(items, analyte_key)))
        if len(analytes) == 1:
            with_range = next((m for m in items if m.key == analytes[0] and m.range_source), None)
            if with_range is not None:
                band = (with_range.low, with_range.high)
                source = _("reference range from the lab") if with_range.range_source == "ehr" else _("typical range")
                band_text = _("Shaded: %(range)s %(unit)s (%(source)s).") % {
                    "range": range_text(with_range),
                    "unit": unit_label(first.unit),
                    "source": source,
                }
    chart = charts.line_chart(
        series, title=_("%(name)s over time") % {"name": title}, unit_label=unit_label(first.unit), band=band,
        band_label=band_text, thresholds=thresholds, decimals=first.decimals,
    )  # fmt: skip
    filtered = _filter_rows(rows, query)
    pages = max(1, -(-len(filtered) // TABLE_PAGE_SIZE))
    page = min(query.page, pages)
    latest = max(rows, key=lambda r: r["when"] or _EPOCH) if rows else None
    detail = Detail(
        key=key, title=title, chart=chart,
        rows=filtered[(page - 1) * TABLE_PAGE_SIZE: page * TABLE_PAGE_SIZE], total=len(filtered), page=page,
        pages=pages, query=query, unit=unit_label(first.unit), unit_key=first.unit, status=status, latest=latest,
        band_text=band_text,
    )  # fmt: skip
    return detail, reads


def all_labs(ctx: Context, params: Any) -> tuple[list[dict[str, Any]], TableQuery, str, int, int, int]:
    """Every laboratory result, sortable and filterable; (rows, query, status, total, page, pages)."""
    reads = fhir_reads.read(ctx.grant, ["observations"])
    query = parse_table_query(params)
    items = reads.data("observations")
    if items is None:
        return [], query, reads["observations"].status, 0, 1, 1
    text = (params.get("q", "") or "")[:60].strip().lower()
    rows = []
    for m in items:
        if m.category != "laboratory":
            continue
        name = str(m.name) or analyte_label(m.key)
        if text and text not in name.lower() and text not in analyte_label(m.key).lower():
            continue
        rows.append({"when": m.when, "name": name, "value": _value_text(m), "unit": unit_label(m.unit),
                     "sort_value": m.value if m.unit_ok else None, "flag": m.flag, "range": range_text(m),
                     "page": m.key if m.key in LAB_KEYS else "", "id": m.id})  # fmt: skip
    filtered = _filter_rows(rows, query)
    pages = max(1, -(-len(filtered) // TABLE_PAGE_SIZE))
    page = min(query.page, pages)
    return (filtered[(page - 1) * TABLE_PAGE_SIZE: page * TABLE_PAGE_SIZE], query, "ok", len(filtered), page,
            pages)  # fmt: skip


def score_trend(score_list: list[Score], instrument_key: str) -> Any:
    instrument = INSTRUMENTS[instrument_key]
    points = [(s.when, float(s.total)) for s in score_list if s.instrument == instrument_key and s.when]
    thresholds = [(float(b.lower), str(b.label)) for b in instrument.bands if b.lower > 0]
    return charts.line_chart(
        [charts.Series(str(instrument.title), "s1", points)], title=str(instrument.title),
        unit_label=str(codes.UNIT_LABELS["{score}"]), thresholds=thresholds,
    )  # fmt: skip


def stored_responses(ctx: Context, limit: int = 20) -> list[StoredResponse]:
    return list(
        StoredResponse.objects.filter(tenant=ctx.tenant, patient=ctx.patient_ref).order_by("-created_at")[:limit]
    )


def get_stored_response(ctx: Context, pk: int) -> StoredResponse | None:
    """Scoped getter: a response of this tenant AND this session's patient, else None (the view 404s)."""
    return StoredResponse.objects.filter(tenant=ctx.tenant, patient=ctx.patient_ref, pk=pk).first()


def when_text(value: datetime | None) -> str:
    return date_format(timezone.localtime(value), "DATE_FORMAT") if value else ""
