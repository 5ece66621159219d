"""What CareLaunch knows about the measurements it shows: LOINC codes, canonical units and conversions,
typical ranges (used only when the EHR sends no reference range), critical limits, plain-language meaning.

Codes are matched on (system, code); systems are normalised (LOINC's OID and http/https spellings are the
same system) and a bare code without a system is accepted for LOINC codes, because EHRs do send those.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"

_SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "https://loinc.org": LOINC,
    "http://loinc.org/": LOINC,
    "loinc": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://snomed.info/sct/": SNOMED,
    "urn:oid:2.16.840.1.113883.12.292": CVX,
    "http://hl7.org/fhir/sid/cvx/": CVX,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
    "http://www.whocc.no/atc/": ATC,
}


def normalise_system(system: object) -> str:
    if not isinstance(system, str):
        return ""
    value = system.strip()
    return _SYSTEM_ALIASES.get(value.lower(), _SYSTEM_ALIASES.get(value, value))


Converter = Callable[[float], float]


@dataclass(frozen=True)
class Analyte:
    key: str
    label: object  # lazy translation
    category: str  # vital-signs | laboratory | survey
    unit: str  # canonical UCUM code
    loinc: tuple[str, ...]
    # unit spelling (lower-case, spaces removed) -> converter into the canonical unit
    units: dict[str, Converter] = field(default_factory=dict)
    plausible: tuple[float, float] = (float("-inf"), float("inf"))  # in the canonical unit
    typical: tuple[float | None, float | None] = (None, None)  # used only without an EHR reference range
    critical: tuple[float | None, float | None] = (None, None)  # below / above: critical
    decimals: int = 1
    text_patterns: tuple[str, ...] = ()  # for unusual codings: matched on the concept's text


def _same(value: float) -> float:
    return value


BP_UNITS = {"mm[hg]": _same, "mmhg": _same, "mm hg": _same, "kpa": lambda v: v * 7.50062}
PER_MIN = {
    "/min": _same,
    "{beats}/min": _same,
    "bpm": _same,
    "beats/min": _same,
    "{breaths}/min": _same,
    "1/min": _same,
}
PERCENT = {"%": _same, "percent": _same}

ANALYTES: dict[str, Analyte] = {
    a.key: a
    for a in [
        Analyte("sbp", _("Systolic blood pressure"), "vital-signs", "mm[Hg]", ("8480-6",), BP_UNITS, (40, 300),
                (90, 129), (None, 180), 0),
        Analyte("dbp", _("Diastolic blood pressure"), "vital-signs", "mm[Hg]", ("8462-4",), BP_UNITS, (20, 200),
                (60, 79), (None, 120), 0),
        Analyte("hr", _("Heart rate"), "vital-signs", "/min", ("8867-4",), PER_MIN, (15, 300), (60, 100),
                (40, 130), 0),
        Analyte("weight", _("Body weight"), "vital-signs", "kg", ("29463-7", "3141-9"),
                {"kg": _same, "g": lambda v: v / 1000, "[lb_av]": lambda v: v * 0.45359237,
                 "lb": lambda v: v * 0.45359237, "lbs": lambda v: v * 0.45359237}, (0.3, 500), (None, None),
                (None, None), 1),
        Analyte("height", _("Body height"), "vital-signs", "cm", ("8302-2",),
                {"cm": _same, "m": lambda v: v * 100, "[in_i]": lambda v: v * 2.54, "in": lambda v: v * 2.54},
                (20, 260), (None, None), (None, None), 1),
        Analyte("bmi", _("Body mass index"), "vital-signs", "kg/m2", ("39156-5",),
                {"kg/m2": _same, "kg/m^2": _same, "kg/m²": _same}, (5, 100), (18.5, 23.9), (None, None), 1),
        Analyte("spo2", _("Oxygen saturation"), "vital-signs", "%", ("59408-5", "2708-6", "2710-2"), PERCENT,
                (30, 100), (95, 100), (88, None), 0),
        Analyte("temp", _("Body temperature"), "vital-signs", "Cel", ("8310-5", "8331-1"),
                {"cel": _same, "°c": _same, "c": _same, "[degf]": lambda v: (v - 32) * 5 / 9,
                 "°f": lambda v: (v - 32) * 5 / 9}, (25, 45), (36.0, 37.5), (35.0, 40.0), 1),
        Analyte("rr", _("Respiratory rate"), "vital-signs", "/min", ("9279-1",), PER_MIN, (2, 80), (12, 20),
                (8, 30), 0),
        Analyte("hba1c", _("HbA1c"), "laboratory", "%", ("4548-4", "17856-6", "4549-2", "59261-8"),
                {"%": _same, "mmol/mol": lambda v: v * 0.09148 + 2.152}, (2, 20), (4.0, 5.6), (None, None), 1,
                ("hba1c", "a1c", "glycated h", "糖化血色素")),
        Analyte("egfr", _("eGFR (kidney function)"), "laboratory", "mL/min/{1.73_m2}",
                ("33914-3", "48642-3", "48643-1", "62238-1", "98979-8", "77147-7", "50044-7", "69405-9"),
                {"ml/min/{1.73_m2}": _same, "ml/min/1.73m2": _same, "ml/min/1.73_m2": _same,
                 "ml/min/{1.73m2}": _same, "ml/min/1.73m^2": _same, "ml/min": _same}, (1, 200), (60, None),
                (None, None), 0, ("egfr", "glomerular filtration", "腎絲球過濾率")),
        Analyte("ldl", _("LDL cholesterol"), "laboratory", "mg/dL", ("18262-6", "13457-7", "2089-1"),
                {"mg/dl": _same, "mmol/l": lambda v: v * 38.67}, (5, 600), (None, 99), (None, None), 0,
                ("ldl", "低密度脂蛋白")),
        Analyte("creatinine", _("Creatinine"), "laboratory", "mg/dL", ("2160-0", "38483-4"),
                {"mg/dl": _same, "umol/l": lambda v: v / 88.42, "µmol/l": lambda v: v / 88.42}, (0.1, 25),
                (0.6, 1.3), (None, None), 2, ("creatinine", "肌酸酐")),
        Analyte("potassium", _("Potassium"), "laboratory", "mmol/L", ("2823-3", "6298-4"),
                {"mmol/l": _same, "meq/l": _same}, (1, 10), (3.5, 5.1), (2.8, 6.2), 1, ("potassium",)),
        Analyte("hemoglobin", _("Hemoglobin"), "laboratory", "g/dL", ("718-7",),
                {"g/dl": _same, "g/l": lambda v: v / 10, "mmol/l": lambda v: v * 1.611}, (2, 25), (12.0, 17.0),
                (7.0, None), 1),
        Analyte("glucose", _("Blood glucose"), "laboratory", "mg/dL", ("2345-7", "2339-0", "41653-7"),
                {"mg/dl": _same, "mmol/l": lambda v: v * 18.016}, (10, 1500), (70, 99), (50, 400), 0),
        Analyte("phq9", _("PHQ-9 depression score"), "survey", "{score}", ("44261-6",),
                {"{score}": _same, "score": _same, "1": _same}, (0, 27), (0, 4), (None, None), 0),
        Analyte("gad7", _("GAD-7 anxiety score"), "survey", "{score}", ("70274-6",),
                {"{score}": _same, "score": _same, "1": _same}, (0, 21), (0, 4), (None, None), 0),
    ]
}  # fmt: skip

BP_PANEL_CODES = ("85354-9", "55284-4", "35094-2")
LOINC_TO_KEY = {code: a.key for a in ANALYTES.values() for code in a.loinc}
VITAL_KEYS = ("sbp", "dbp", "hr", "weight", "bmi", "spo2", "temp", "rr", "height")
LAB_KEYS = ("hba1c", "egfr", "ldl", "creatinine", "potassium", "hemoglobin", "glucose")

# Units as people read them; the UCUM code is what FHIR sends.
UNIT_LABELS = {
    "mm[Hg]": _("mmHg"),
    "/min": _("per minute"),
    "kg": _("kg"),
    "cm": _("cm"),
    "kg/m2": _("kg/m²"),
    "%": "%",
    "Cel": _("°C"),
    "mL/min/{1.73_m2}": _("mL/min/1.73 m²"),
    "mg/dL": _("mg/dL"),
    "mmol/L": _("mmol/L"),
    "g/dL": _("g/dL"),
    "{score}": _("points"),
}
UNIT_MEANING = {
    "mm[Hg]": _("millimetres of mercury, the pressure unit used for blood pressure"),
    "/min": _("counted over one minute"),
    "kg": _("kilograms"),
    "cm": _("centimetres"),
    "kg/m2": _("weight in kilograms divided by the square of height in metres"),
    "%": _("percent"),
    "Cel": _("degrees Celsius"),
    "mL/min/{1.73_m2}": _("millilitres of blood filtered per minute, scaled to an average body size"),
    "mg/dL": _("milligrams per decilitre of blood"),
    "mmol/L": _("millimoles per litre of blood"),
    "g/dL": _("grams per decilitre of blood"),
    "{score}": _("points on the questionnaire's scale"),
}
# fmt: off
MEANING = {
    "sbp": _("The pressure in your arteries when your heart beats (the upper number)."),
    "dbp": _("The pressure in your arteries between heartbeats (the lower number)."),
    "bp": _("How hard your blood pushes against the walls of your arteries. High blood pressure over time can damage the heart, brain and kidneys."),  # noqa: E501
    "hr": _("How many times your heart beats in a minute."),
    "weight": _("Your body weight."),
    "height": _("Your height."),
    "bmi": _("Body mass index compares your weight to your height. In Taiwan 18.5 to 24 counts as a healthy range for adults."),  # noqa: E501
    "spo2": _("How much oxygen your blood is carrying, measured with a clip on your finger."),
    "temp": _("Your body temperature."),
    "rr": _("How many breaths you take in a minute."),
    "hba1c": _("Your average blood sugar over the last two to three months. It is used to find and follow diabetes."),
    "egfr": _("How well your kidneys filter your blood. Lower numbers mean the kidneys are working less well."),
    "ldl": _("The 'bad' cholesterol that can build up in your arteries."),
    "creatinine": _("A waste product that healthy kidneys remove from the blood. A high level can mean the kidneys are not working well."),  # noqa: E501
    "potassium": _("A mineral your heart and muscles need. Too much or too little can affect your heartbeat."),
    "hemoglobin": _("The protein in red blood cells that carries oxygen. A low level is called anaemia."),
    "glucose": _("The amount of sugar in your blood when the sample was taken."),
    "phq9": _("A questionnaire score about low mood over the last two weeks; higher means more symptoms."),
    "gad7": _("A questionnaire score about worry and anxiety over the last two weeks; higher means more symptoms."),
}
# fmt: on

# Influenza vaccines (CDC CVX code set, https://www2.cdc.gov/vaccines/iis/iisstandards/vaccines.asp?rpt=cvx).
INFLUENZA_CVX = frozenset(
    {"15", "16", "88", "111", "125", "126", "127", "128", "135", "140", "141", "144", "148", "149", "150", "151",
     "153", "155", "158", "160", "161", "166", "168", "171", "185", "186", "197", "200", "201", "202", "205", "231",
     "320"}
)  # fmt: skip
INFLUENZA_TEXT = re.compile(r"influenza|\bflu\b|流感", re.IGNORECASE)

# NSAIDs: ATC M01A (anti-inflammatory, non-steroidal) plus RxNorm ingredients, and names for local codings.
NSAID_RXNORM = frozenset(
    {"5640", "7258", "3355", "140587", "41493", "35827", "5781", "8356", "10237", "1006", "4331", "6142",
     "7392", "33821", "37417", "17129"}
)  # fmt: skip
NSAID_TEXT = re.compile(
    r"ibuprofen|naproxen|diclofenac|celecoxib|meloxicam|ketorolac|indomethacin|indometacin|piroxicam|"
    r"etoricoxib|ketoprofen|nabumetone|etodolac|sulindac|mefenamic|aceclofenac|flurbiprofen|"
    r"布洛芬|那普洛先|雙氯芬酸|希樂葆|美洛昔康",
    re.IGNORECASE,
)
