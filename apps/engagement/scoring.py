"""Standard scoring of PHQ-9 and GAD-7 from a FHIR QuestionnaireResponse (or plain answers).

PHQ-9 (LOINC panel 44249-1, total 44261-6): nine items scored 0–3, total 0–27; severity bands at 5, 10, 15, 20
(Kroenke, Spitzer, Williams 2001, J Gen Intern Med 16:606). GAD-7 (LOINC 69737-5, total 70274-6): seven items
0–3, total 0–21; bands at 5, 10, 15 (Spitzer et al. 2006, Arch Intern Med 166:1092).
A total is computed only when every item is answered; otherwise the response's own total item is used when it is
a valid number, else there is no score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from django.utils.translation import gettext_lazy as _

from apps.engagement.fhir_extract import _dict, _list, _number, _s, codings, parse_datetime

# LOINC answer list LL358-3 ("Not at all" … "Nearly every day").
ANSWER_POINTS = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
ANSWER_TEXT_POINTS = {"not at all": 0, "several days": 1, "more than half the days": 2, "nearly every day": 3}
ORDINAL_URLS = (
    "http://hl7.org/fhir/StructureDefinition/ordinalValue",
    "http://hl7.org/fhir/StructureDefinition/itemWeight",
)


@dataclass(frozen=True)
class Band:
    lower: int
    code: str
    label: Any


@dataclass(frozen=True)
class Instrument:
    key: str
    panel: str  # LOINC panel code
    total: str  # LOINC code of the total score
    items: tuple[str, ...]  # LOINC item codes, in order
    maximum: int
    bands: tuple[Band, ...]
    title: Any
    url: str  # canonical Questionnaire URL (LOINC's)

    def band(self, score: int | None) -> Band | None:
        if score is None:
            return None
        chosen = None
        for band in self.bands:
            if score >= band.lower:
                chosen = band
        return chosen


PHQ9 = Instrument(
    key="phq9",
    panel="44249-1",
    total="44261-6",
    items=("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8"),
    maximum=27,
    bands=(
        Band(0, "minimal", _("None to minimal depression")),
        Band(5, "mild", _("Mild depression")),
        Band(10, "moderate", _("Moderate depression")),
        Band(15, "moderately-severe", _("Moderately severe depression")),
        Band(20, "severe", _("Severe depression")),
    ),
    title=_("PHQ-9 (depression)"),
    url="http://loinc.org/q/44249-1",
)
GAD7 = Instrument(
    key="gad7",
    panel="69737-5",
    total="70274-6",
    items=("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
    maximum=21,
    bands=(
        Band(0, "minimal", _("Minimal anxiety")),
        Band(5, "mild", _("Mild anxiety")),
        Band(10, "moderate", _("Moderate anxiety")),
        Band(15, "severe", _("Severe anxiety")),
    ),
    title=_("GAD-7 (anxiety)"),
    url="http://loinc.org/q/69737-5",
)
INSTRUMENTS = {PHQ9.key: PHQ9, GAD7.key: GAD7}
PHQ9_SELF_HARM_ITEM = "44260-8"


def instrument_for(canonical: Any = "", concept_codes: list[str] | None = None) -> Instrument | None:
    """Which known instrument a Questionnaire canonical URL or its codes name."""
    text = _s(canonical, 500)
    for instrument in INSTRUMENTS.values():
        if instrument.panel in (concept_codes or []):
            return instrument
        base = text.split("|")[0].rstrip("/")
        if base == instrument.url or base.endswith("/" + instrument.panel) or base.endswith("=" + instrument.panel):
            return instrument
    return None


def points(answer: dict[str, Any]) -> int | None:
    """0–3 for one answer: LOINC answer code, ordinal/itemWeight extension, integer, or the answer's text."""
    answer = _dict(answer)
    integer = _number(answer.get("valueInteger"))
    if integer is not None:
        return int(integer) if integer in (0, 1, 2, 3) else None
    coding = _dict(answer.get("valueCoding"))
    for extension in _list(coding.get("extension")) + _list(answer.get("extension")):
        extension = _dict(extension)
        if extension.get("url") in ORDINAL_URLS:
            weight = _number(extension.get("valueDecimal"))
            if weight is None:
                weight = _number(extension.get("valueInteger"))
            if weight in (0, 1, 2, 3):
                return int(weight)
    code = _s(coding.get("code"), 20)
    if code in ANSWER_POINTS:
        return ANSWER_POINTS[code]
    if code in ("0", "1", "2", "3"):
        return int(code)
    text = (_s(coding.get("display")) or _s(answer.get("valueString"))).lower()
    return ANSWER_TEXT_POINTS.get(text)


def _walk(items: Any, depth: int = 0):
    if depth > 5:
        return
    for item in _list(items)[:200]:
        item = _dict(item)
        yield item
        yield from _walk(item.get("item"), depth + 1)
        for answer in _list(item.get("answer"))[:5]:
            yield from _walk(_dict(answer).get("item"), depth + 1)


class Score(NamedTuple):
    instrument: str  # phq9 | gad7
    total: int | None
    band_code: str
    complete: bool  # every item answered
    item_points: tuple[int | None, ...]
    self_harm: int | None  # PHQ-9 item 9, the "thoughts … better off dead" item
    when: Any
    response_id: str


def score_answers(instrument: Instrument, answers: dict[str, int | None]) -> tuple[int | None, bool]:
    values = [answers.get(code) for code in instrument.items]
    complete = all(v is not None for v in values)
    return (sum(v for v in values if v is not None) if complete else None), complete


def score_response(response: dict[str, Any], questionnaire: dict[str, Any] | None = None) -> Score | None:
    """Score a QuestionnaireResponse of a known instrument; None when it is not PHQ-9 or GAD-7."""
    response = _dict(response)
    q_codes = [
        code for concept in _list(_dict(questionnaire).get("code")) for code in [_s(_dict(concept).get("code"), 20)]
    ]
    instrument = instrument_for(response.get("questionnaire"), q_codes)
    if instrument is None:
        return None
    # linkId -> LOINC item code: from the Questionnaire's item codes when we have it, else the linkId itself.
    link_to_code: dict[str, str] = {}
    for item in _walk(_dict(questionnaire).get("item")):
        for _system, code, _d in codings({"coding": _list(item.get("code"))}):
            if code in instrument.items or code == instrument.total:
                link_to_code[_s(item.get("linkId"), 100)] = code
    answers: dict[str, int | None] = {}
    recorded_total: int | None = None
    for item in _walk(response.get("item")):
        link = _s(item.get("linkId"), 100)
        code = link_to_code.get(link) or link.lstrip("/").split("/")[-1]
        first = _dict((_list(item.get("answer")) or [{}])[0])
        if code == instrument.total:
            value = _number(first.get("valueInteger"))
            if value is None:
                value = _number(_dict(first.get("valueQuantity")).get("value"))
            if value is not None and 0 <= value <= instrument.maximum and float(value).is_integer():
                recorded_total = int(value)
        elif code in instrument.items:
            answers[code] = points(first)
    total, complete = score_answers(instrument, answers)
    if total is None:
        total = recorded_total
    band = instrument.band(total)
    return Score(
        instrument=instrument.key,
        total=total,
        band_code=band.code if band else "",
        complete=complete,
        item_points=tuple(answers.get(code) for code in instrument.items),
        self_harm=answers.get(PHQ9_SELF_HARM_ITEM) if instrument is PHQ9 else None,
        when=parse_datetime(response.get("authored")),
        response_id=_s(response.get("id"), 64),
    )


def band_label(instrument_key: str, code: str) -> Any:
    instrument = INSTRUMENTS.get(instrument_key)
    for band in instrument.bands if instrument else ():
        if band.code == code:
            return band.label
    return ""
