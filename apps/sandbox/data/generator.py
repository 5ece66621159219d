"""Deterministic synthetic data for the sandbox EHR.

Same arguments -> byte-identical resources: every patient draws from its own RNG seeded with (seed, index), dates
count back from a fixed anchor (not today), and `lastUpdated` is derived from each resource's clinical date.
Identifiers are TW Core-shaped (身分證字號 with a valid check digit, 病歷號), names come in 繁體中文 and English.

Built-in edge cases: p-001 has CKD stage 3 + diabetes and takes ibuprofen, and missed last season's flu shot;
p-002 has no allergies; p-003 has history but no encounters; heavy patients (p-h01, ...) carry thousands of
home-monitoring Observations for performance work.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from apps.sandbox.data import twid

ANCHOR = date(2025, 6, 30)
TPE = timezone(timedelta(hours=8))
HISTORY_YEARS = 5

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CVX = "http://hl7.org/fhir/sid/cvx"
UCUM = "http://unitsofmeasure.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERP = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MOI = "http://www.moi.gov.tw/"
MRN_SYSTEM = "https://sandbox-hospital.carelaunch.example/mrn"
TWCORE = "https://twcore.mohw.gov.tw/ig/twcore/StructureDefinition/"

Resource = dict[str, Any]

SURNAMES = [("陳", "Chen"), ("林", "Lin"), ("黃", "Huang"), ("張", "Chang"), ("李", "Lee"), ("王", "Wang"),
            ("吳", "Wu"), ("劉", "Liu"), ("蔡", "Tsai"), ("楊", "Yang"), ("許", "Hsu"), ("鄭", "Cheng"),
            ("謝", "Hsieh"), ("郭", "Kuo"), ("洪", "Hung"), ("曾", "Tseng")]  # fmt: skip
GIVEN = {
    "male": [("志明", "Chih-Ming"), ("家豪", "Chia-Hao"), ("俊傑", "Chun-Chieh"), ("建宏", "Chien-Hung"),
             ("冠宇", "Kuan-Yu"), ("宗翰", "Tsung-Han"), ("承恩", "Cheng-En"), ("文雄", "Wen-Hsiung")],
    "female": [("淑芬", "Shu-Fen"), ("雅婷", "Ya-Ting"), ("美玲", "Mei-Ling"), ("怡君", "Yi-Chun"),
               ("佩珊", "Pei-Shan"), ("詩涵", "Shih-Han"), ("麗華", "Li-Hua"), ("欣怡", "Hsin-Yi")],
}  # fmt: skip
CITIES = [("臺北市", "Taipei", "A"), ("新北市", "New Taipei", "F"), ("臺中市", "Taichung", "B"),
          ("臺南市", "Tainan", "D"), ("高雄市", "Kaohsiung", "E"), ("桃園市", "Taoyuan", "H")]  # fmt: skip

PRACTITIONERS = [
    ("pr-001", "male", ("黃", "建民", "Huang", "Chien-Min"), "Family medicine"),
    ("pr-002", "female", ("林", "怡萱", "Lin", "Yi-Hsuan"), "Nephrology"),
    ("pr-003", "male", ("陳", "冠廷", "Chen", "Kuan-Ting"), "Cardiology"),
    ("pr-004", "female", ("張", "心怡", "Chang", "Hsin-Yi"), "Psychiatry"),
]

# (key, ICD-10-CM, SNOMED CT, English, 繁體中文)
CONDITIONS = {
    "t2dm": ("E11.9", "44054006", "Type 2 diabetes mellitus", "第二型糖尿病"),
    "htn": ("I10", "38341003", "Essential hypertension", "原發性高血壓"),
    "ckd3": ("N18.3", "433144002", "Chronic kidney disease stage 3", "慢性腎臟病第三期"),
    "hld": ("E78.5", "55822004", "Hyperlipidemia", "高血脂症"),
    "asthma": ("J45.909", "195967001", "Asthma", "氣喘"),
    "mdd": ("F32.9", "35489007", "Depressive disorder", "憂鬱症"),
    "gad": ("F41.1", "21897009", "Generalized anxiety disorder", "廣泛性焦慮症"),
    "oa": ("M17.9", "239873007", "Osteoarthritis of knee", "膝關節炎"),
    "gerd": ("K21.9", "235595009", "Gastroesophageal reflux disease", "胃食道逆流"),
    "af": ("I48.91", "49436004", "Atrial fibrillation", "心房顫動"),
}
# (RxNorm ingredient, ATC, English, 繁體中文, dosage text)
MEDICATIONS = {
    "metformin": ("6809", "A10BA02", "Metformin 500 mg tablet", "二甲雙胍 500 毫克錠", "500 mg twice daily"),
    "amlodipine": ("17767", "C08CA01", "Amlodipine 5 mg tablet", "脈優 5 毫克錠", "5 mg once daily"),
    "losartan": ("52175", "C09CA01", "Losartan 50 mg tablet", "可悅您 50 毫克錠", "50 mg once daily"),
    "atorvastatin": ("83367", "C10AA05", "Atorvastatin 20 mg tablet", "立普妥 20 毫克錠", "20 mg at night"),
    "ibuprofen": ("5640", "M01AE01", "Ibuprofen 400 mg tablet", "布洛芬 400 毫克錠", "400 mg three times daily"),
    "naproxen": ("7258", "M01AE02", "Naproxen 250 mg tablet", "那普洛先 250 毫克錠", "250 mg twice daily"),
    "sertraline": ("36437", "N06AB06", "Sertraline 50 mg tablet", "樂復得 50 毫克錠", "50 mg once daily"),
    "salbutamol": ("435", "R03AC02", "Salbutamol inhaler 100 mcg", "沙丁胺醇吸入劑 100 微克", "2 puffs as needed"),
    "omeprazole": ("7646", "A02BC01", "Omeprazole 20 mg capsule", "奧美拉唑 20 毫克膠囊", "20 mg before breakfast"),
    "apixaban": ("1364430", "B01AF02", "Apixaban 5 mg tablet", "艾必克凝 5 毫克錠", "5 mg twice daily"),
    "acetaminophen": ("161", "N02BE01", "Acetaminophen 500 mg tablet", "普拿疼 500 毫克錠", "500 mg as needed"),
}
TREATS = {
    "t2dm": ["metformin"],
    "htn": ["amlodipine", "losartan"],
    "hld": ["atorvastatin"],
    "asthma": ["salbutamol"],
    "mdd": ["sertraline"],
    "gad": ["sertraline"],
    "oa": ["acetaminophen", "naproxen"],
    "gerd": ["omeprazole"],
    "af": ["apixaban"],
}
# (SNOMED substance, English, 繁體中文, category, criticality)
ALLERGENS = [
    ("373270004", "Penicillin", "盤尼西林", "medication", "high"),
    ("387458008", "Aspirin", "阿斯匹靈", "medication", "low"),
    ("762952008", "Peanut", "花生", "food", "high"),
    ("256259004", "Pollen", "花粉", "environment", "low"),
    ("387406002", "Sulfonamide", "磺胺類藥物", "medication", "low"),
]
PROCEDURES = [
    ("29303009", "Electrocardiographic procedure", "心電圖檢查"),
    ("73761001", "Colonoscopy", "大腸鏡檢查"),
    ("71651007", "Mammography", "乳房攝影"),
    ("110473004", "Cataract surgery", "白內障手術"),
]

# (codings, English, 繁體中文, unit, low, high, decimals)
LABS = {
    "hba1c": ([(LOINC, "4548-4")], "Hemoglobin A1c/Hemoglobin.total in Blood", "糖化血色素", "%", 4.0, 5.6, 1),
    "egfr": ([(LOINC, "33914-3")], "Glomerular filtration rate/1.73 sq M.predicted", "腎絲球過濾率",
             "mL/min/{1.73_m2}", 60, None, 0),
    "ldl_direct": ([(LOINC, "18262-6")], "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
                   "低密度脂蛋白膽固醇", "mg/dL", None, 100, 0),
    "ldl_calc": ([(LOINC, "13457-7")], "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
                 "低密度脂蛋白膽固醇", "mg/dL", None, 100, 0),
    "creatinine": ([(LOINC, "2160-0")], "Creatinine [Mass/volume] in Serum or Plasma", "肌酸酐", "mg/dL",
                   0.6, 1.3, 2),
    "potassium": ([(LOINC, "2823-3")], "Potassium [Moles/volume] in Serum or Plasma", "鉀", "mmol/L", 3.5, 5.1, 1),
    "hemoglobin": ([(LOINC, "718-7")], "Hemoglobin [Mass/volume] in Blood", "血色素", "g/dL", 12.0, 17.0, 1),
    "glucose": ([(LOINC, "2345-7")], "Glucose [Mass/volume] in Serum or Plasma", "血糖", "mg/dL", 70, 99, 0),
}  # fmt: skip
VITALS = {
    "hr": ([(LOINC, "8867-4")], "Heart rate", "心跳", "/min"),
    "weight": ([(LOINC, "29463-7")], "Body weight", "體重", "kg"),
    "height": ([(LOINC, "8302-2")], "Body height", "身高", "cm"),
    "bmi": ([(LOINC, "39156-5")], "Body mass index (BMI) [Ratio]", "身體質量指數", "kg/m2"),
    "spo2": ([(LOINC, "59408-5"), (LOINC, "2708-6")], "Oxygen saturation in Arterial blood by Pulse oximetry",
             "血氧飽和度", "%"),
    "temp": ([(LOINC, "8310-5")], "Body temperature", "體溫", "Cel"),
    "rr": ([(LOINC, "9279-1")], "Respiratory rate", "呼吸速率", "/min"),
}  # fmt: skip
ANSWERS = [("LA6568-5", "Not at all", "完全沒有", 0), ("LA6569-3", "Several days", "有幾天", 1),
           ("LA6570-1", "More than half the days", "一半以上的天數", 2),
           ("LA6571-9", "Nearly every day", "幾乎每天", 3)]  # fmt: skip
PHQ9_ITEMS = [
    ("44250-9", "Little interest or pleasure in doing things", "做事時提不起勁或沒有樂趣"),
    ("44255-8", "Feeling down, depressed, or hopeless", "感到心情低落、沮喪或絕望"),
    ("44259-0", "Trouble falling or staying asleep, or sleeping too much", "入睡困難、睡不安穩或睡眠過多"),
    ("44254-1", "Feeling tired or having little energy", "感覺疲倦或沒有活力"),
    ("44251-7", "Poor appetite or overeating", "食慾不振或吃太多"),
    ("44258-2", "Feeling bad about yourself", "覺得自己很糟，或覺得自己很失敗"),
    ("44252-5", "Trouble concentrating on things", "對事物專注有困難"),
    ("44253-3", "Moving or speaking slowly, or being fidgety or restless", "動作或說話緩慢，或坐立不安"),
    ("44260-8", "Thoughts that you would be better off dead, or of hurting yourself", "有不如死掉或傷害自己的念頭"),
]
GAD7_ITEMS = [
    ("69725-0", "Feeling nervous, anxious, or on edge", "感覺緊張、焦慮或煩躁"),
    ("68509-9", "Not being able to stop or control worrying", "無法停止或控制憂慮"),
    ("69733-4", "Worrying too much about different things", "對各種事情過度擔心"),
    ("69734-2", "Trouble relaxing", "很難放鬆"),
    ("69735-9", "Being so restless that it is hard to sit still", "坐立難安"),
    ("69689-8", "Becoming easily annoyed or irritable", "容易心煩或易怒"),
    ("69736-7", "Feeling afraid, as if something awful might happen", "感到害怕，好像會發生可怕的事"),
]
PHQ9_URL = "http://loinc.org/q/44249-1"
GAD7_URL = "http://loinc.org/q/69737-5"


@dataclass
class Dataset:
    resources: list[tuple[Resource, datetime]] = field(default_factory=list)

    def add(self, resource: Resource, when: datetime) -> None:
        self.resources.append((resource, when.astimezone(UTC)))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for resource, _ in self.resources:
            out[resource["resourceType"]] = out.get(resource["resourceType"], 0) + 1
        return dict(sorted(out.items()))


def _cc(codings: list[tuple[str, str]], display: str, zh: str | None = None) -> dict:
    cc: dict[str, Any] = {"coding": [{"system": s, "code": c, "display": display} for s, c in codings]}
    cc["text"] = f"{zh} ({display})" if zh else display
    return cc


def _ref(reference: str, display: str | None = None) -> dict:
    return {"reference": reference, "display": display} if display else {"reference": reference}


def _dt(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _translated(text: str, zh: str) -> dict:
    return {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/translation",
                "extension": [{"url": "lang", "valueCode": "zh-TW"}, {"url": "content", "valueString": zh}],
            }
        ]
    }


def _category(code: str, display: str) -> list[dict]:
    return [{"coding": [{"system": OBS_CAT, "code": code, "display": display}], "text": display}]


def _interpretation(value: float, low: float | None, high: float | None) -> list[dict]:
    if low is not None and value < low:
        code, display = "L", "Low"
    elif high is not None and value > high:
        code, display = "H", "High"
    else:
        code, display = "N", "Normal"
    return [{"coding": [{"system": INTERP, "code": code, "display": display}], "text": display}]


def _quantity(value: float, unit: str, decimals: int = 1) -> dict:
    number: float | int = round(value, decimals) if decimals else round(value)
    return {"value": number, "unit": unit, "system": UCUM, "code": unit}


def practitioner(pid: str, gender: str, names: tuple[str, str, str, str], specialty: str) -> Resource:
    zh_family, zh_given, en_family, en_given = names
    number = pid.split("-")[1]
    return {
        "resourceType": "Practitioner",
        "id": pid,
        "identifier": [{"system": "https://sandbox-hospital.carelaunch.example/staff", "value": f"D{number}"}],
        "active": True,
        "name": [
            {"use": "official", "text": f"{zh_family}{zh_given}", "family": zh_family, "given": [zh_given],
             "prefix": ["醫師"]},
            {"use": "usual", "text": f"Dr. {en_given} {en_family}", "family": en_family, "given": [en_given],
             "prefix": ["Dr."]},
        ],
        "gender": gender,
        "qualification": [{"code": {"text": specialty}}],
    }  # fmt: skip


def questionnaire(qid: str, url: str, loinc: str, title: str, zh_title: str, items: list, total: str) -> Resource:
    answer_options = [
        {"valueCoding": {"system": LOINC, "code": code, "display": en, "_display": _translated(en, zh)},
         "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": score}]}
        for code, en, zh, score in ANSWERS
    ]  # fmt: skip
    return {
        "resourceType": "Questionnaire",
        "id": qid,
        "url": url,
        "name": qid.replace("-", "").upper(),
        "title": title,
        "_title": _translated(title, zh_title),
        "status": "active",
        "subjectType": ["Patient"],
        "code": [{"system": LOINC, "code": loinc, "display": title}],
        "item": [
            *(
                {"linkId": code, "code": [{"system": LOINC, "code": code}], "text": en, "_text": _translated(en, zh),
                 "type": "choice", "required": True, "answerOption": answer_options}
                for code, en, zh in items
            ),
            {"linkId": total, "code": [{"system": LOINC, "code": total}], "text": "Total score",
             "_text": _translated("Total score", "總分"), "type": "integer", "readOnly": True},
        ],
    }  # fmt: skip


class _PatientBuilder:
    def __init__(self, ds: Dataset, *, seed: int, index: int, pid: str, anchor: date) -> None:
        self.ds = ds
        self.rng = random.Random(f"carelaunch-sandbox/{seed}/{pid}")  # noqa: S311 - synthetic data, not secrets
        self.index = index
        self.pid = pid
        self.tag = pid.split("-", 1)[1]
        self.anchor = anchor
        self.serial = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.tag}-{self.serial:05d}"

    def patient(self) -> Resource:
        rng = self.rng
        gender = "male" if self.index % 2 else "female"
        surname = SURNAMES[(self.index * 7) % len(SURNAMES)]
        given = GIVEN[gender][(self.index * 5 + self.index // 8) % len(GIVEN[gender])]
        city, city_en, letter = CITIES[self.index % len(CITIES)]
        age = 28 + (self.index * 13) % 55
        birth = date(self.anchor.year - age, 1 + rng.randrange(12), 1 + rng.randrange(28))
        national_id = twid.make(letter, 1 if gender == "male" else 2, f"{rng.randrange(10**7):07d}")
        self.gender, self.age, self.birth = gender, age, birth
        self.name_en = f"{given[1]} {surname[1]}"
        return {
            "resourceType": "Patient",
            "id": self.pid,
            "meta": {"profile": [TWCORE + "Patient-twcore"]},
            "identifier": [
                {"use": "official",
                 "type": {"coding": [{"system": V2_0203, "code": "NNxxx", "display": "National Person Identifier"}],
                          "text": "身分證字號"},
                 "system": MOI, "value": national_id},
                {"use": "official",
                 "type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}],
                          "text": "病歷號"},
                 "system": MRN_SYSTEM, "value": f"{8800000 + self.index * 137:07d}"},
            ],
            "active": True,
            "name": [
                {"use": "official", "text": f"{surname[0]}{given[0]}", "family": surname[0], "given": [given[0]]},
                {"use": "usual", "text": self.name_en, "family": surname[1], "given": [given[1]]},
            ],
            "telecom": [{"system": "phone", "value": f"09{rng.randrange(10**8):08d}", "use": "mobile"}],
            "gender": gender,
            "birthDate": birth.isoformat(),
            "address": [{"use": "home", "text": f"{city}{city_en} ", "city": city, "country": "TW"}],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "zh-TW"}],
                                            "text": "中文"}, "preferred": True}],
        }  # fmt: skip

    def conditions_for(self) -> list[str]:
        if self.pid == "p-001":
            return ["t2dm", "htn", "ckd3", "oa"]
        pool = list(CONDITIONS)
        chosen = [key for key in pool if self.rng.random() < 0.22]
        if self.index % 4 == 0 and "mdd" not in chosen:
            chosen.append("mdd")
        return chosen

    def visit_time(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, 9 + self.rng.randrange(7), self.rng.choice((0, 15, 30, 45)),
                        tzinfo=TPE)  # fmt: skip

    def build(self) -> None:
        ds, rng = self.ds, self.rng
        patient = self.patient()
        start = self.anchor - timedelta(days=365 * HISTORY_YEARS)
        ds.add(patient, datetime(start.year, start.month, start.day, 8, tzinfo=TPE))
        pref = f"Patient/{self.pid}"
        gp = PRACTITIONERS[self.index % len(PRACTITIONERS)]
        with_encounters = self.pid != "p-003"
        conditions = self.conditions_for()
        self.conditions = conditions

        # Conditions, each coded in ICD-10-CM and SNOMED CT.
        for key in conditions:
            icd, sct, en, zh = CONDITIONS[key]
            onset = start + timedelta(days=rng.randrange(0, 365 * 3))
            cond = {
                "resourceType": "Condition",
                "id": self.next_id("cond"),
                "clinicalStatus": _cc([("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")],
                                      "Active"),
                "verificationStatus": _cc([("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                            "confirmed")], "Confirmed"),
                "category": [_cc([("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
                                 "Problem List Item")],
                "code": {"coding": [{"system": ICD10CM, "code": icd, "display": en},
                                    {"system": SNOMED, "code": sct, "display": en}], "text": f"{zh} ({en})"},
                "subject": _ref(pref, self.name_en),
                "onsetDateTime": onset.isoformat(),
                "recordedDate": onset.isoformat(),
                "recorder": _ref(f"Practitioner/{gp[0]}"),
            }  # fmt: skip
            ds.add(cond, self.visit_time(onset))

        # Medications (RxNorm and ATC); NSAIDs for some CKD patients so decision support has work to do.
        meds = sorted({m for key in conditions for m in TREATS.get(key, [])[: 1 + (self.index % 2)]})
        if "ckd3" in conditions and "ibuprofen" not in meds and (self.pid == "p-001" or rng.random() < 0.5):
            meds.append("ibuprofen")
        for med in meds:
            rx, atc, en, zh, dosage = MEDICATIONS[med]
            authored = self.anchor - timedelta(days=rng.randrange(30, 700))
            mr = {
                "resourceType": "MedicationRequest",
                "id": self.next_id("medrx"),
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rx, "display": en},
                                                         {"system": ATC, "code": atc, "display": en}],
                                              "text": f"{zh} ({en})"},
                "subject": _ref(pref, self.name_en),
                "authoredOn": authored.isoformat(),
                "requester": _ref(f"Practitioner/{gp[0]}"),
                "dosageInstruction": [{"text": dosage}],
            }  # fmt: skip
            ds.add(mr, self.visit_time(authored))

        # Allergies (none for p-002, so "no known allergies" is exercised).
        if self.pid != "p-002":
            for allergen in ALLERGENS:
                if rng.random() < 0.25 or (self.pid == "p-001" and allergen[0] == "373270004"):
                    code, en, zh, category, criticality = allergen
                    recorded = start + timedelta(days=rng.randrange(0, 365))
                    ai = {
                        "resourceType": "AllergyIntolerance",
                        "id": self.next_id("allergy"),
                        "clinicalStatus": _cc([("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                                "active")], "Active"),
                        "verificationStatus": _cc([(
                            "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed")],
                            "Confirmed"),
                        "type": "allergy",
                        "category": [category],
                        "criticality": criticality,
                        "code": _cc([(SNOMED, code)], en, zh),
                        "patient": _ref(pref, self.name_en),
                        "recordedDate": recorded.isoformat(),
                    }  # fmt: skip
                    ds.add(ai, self.visit_time(recorded))

        # Immunizations: influenza in some seasons and not others (p-001 missed the latest), plus a few others.
        for year in range(start.year, self.anchor.year):
            missed = self.pid == "p-001" and year == self.anchor.year - 1
            if missed or rng.random() > 0.6:
                continue
            when = date(year, 10, 1) + timedelta(days=rng.randrange(60))
            self._immunization("150", "Influenza, injectable, quadrivalent, preservative free", "流感疫苗", when)
        if rng.random() < 0.8:
            self._immunization("213", "SARS-COV-2 (COVID-19) vaccine, UNSPECIFIED FORMULATION", "新冠肺炎疫苗",
                               date(2021, 7, 1) + timedelta(days=rng.randrange(120)))  # fmt: skip
        if self.age >= 65:
            self._immunization("33", "Pneumococcal polysaccharide vaccine, 23 valent", "肺炎鏈球菌多醣體疫苗",
                               start + timedelta(days=rng.randrange(900)))  # fmt: skip

        # Visits: vitals at each, labs at every other, a DiagnosticReport per lab draw.
        has_dm = "t2dm" in conditions
        has_ckd = "ckd3" in conditions
        has_htn = "htn" in conditions
        height = (172 if self.gender == "male" else 159) + rng.uniform(-8, 8)
        weight = height - 100 + rng.uniform(-12, 18)
        sbp = 150 if has_htn else 118 + rng.uniform(-6, 10)
        day = start + timedelta(days=rng.randrange(20, 90))
        visit = 0
        while day <= self.anchor:
            when = self.visit_time(day)
            enc_ref = None
            if with_encounters:
                enc_id = f"enc-{self.tag}-{visit + 1:03d}"
                enc_ref = f"Encounter/{enc_id}"
                enc = {
                    "resourceType": "Encounter",
                    "id": enc_id,
                    "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                              "display": "ambulatory"},
                    "type": [_cc([(SNOMED, "185349003")], "Encounter for check up", "門診追蹤")],
                    "subject": _ref(pref, self.name_en),
                    "participant": [{"individual": _ref(f"Practitioner/{gp[0]}")}],
                    "period": {"start": _dt(when), "end": _dt(when + timedelta(minutes=20))},
                }  # fmt: skip
                ds.add(enc, when)
            years_in = (day - start).days / 365
            weight += rng.uniform(-1.2, 1.3)
            sbp_now = sbp + rng.uniform(-12, 12) - (8 if has_htn and years_in > 1 else 0)
            self._bp(when, sbp_now, sbp_now * 0.62 + rng.uniform(-5, 5), enc_ref)
            self._vital("hr", when, 62 + rng.uniform(0, 30), 0, enc_ref)
            self._vital("weight", when, weight, 1, enc_ref)
            if visit % 4 == 0:
                self._vital("height", when, height, 1, enc_ref)
            self._vital("bmi", when, weight / (height / 100) ** 2, 1, enc_ref)
            self._vital("spo2", when, rng.uniform(94, 99.5), 0, enc_ref)
            self._vital("temp", when, rng.uniform(36.1, 37.6), 1, enc_ref)
            self._vital("rr", when, rng.uniform(12, 20), 0, enc_ref)
            if visit % 2 == 0:
                egfr = (52 - 2.5 * years_in if has_ckd else 96 - 1.0 * years_in) + rng.uniform(-5, 5)
                values = {
                    "hba1c": (7.6 if has_dm else 5.3) + rng.uniform(-0.6, 0.8),
                    "egfr": egfr,
                    "ldl_direct" if self.index % 2 else "ldl_calc": 95 + rng.uniform(-30, 70),
                    "creatinine": 88 / max(egfr, 10) + rng.uniform(-0.1, 0.1),
                    "potassium": (4.7 if has_ckd else 4.1) + rng.uniform(-0.5, 0.7),
                    "hemoglobin": (14.2 if self.gender == "male" else 12.8) + rng.uniform(-1.5, 1.2),
                    "glucose": (135 if has_dm else 88) + rng.uniform(-15, 40),
                }
                lab_time = when + timedelta(minutes=40)
                results = [self._lab(key, lab_time, value, enc_ref) for key, value in values.items()]
                report = {
                    "resourceType": "DiagnosticReport",
                    "id": self.next_id("dr"),
                    "status": "final",
                    "category": [_cc([("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB")], "Laboratory")],
                    "code": _cc([(LOINC, "11502-2")], "Laboratory report", "檢驗報告"),
                    "subject": _ref(pref, self.name_en),
                    "effectiveDateTime": _dt(lab_time),
                    "issued": _dt(lab_time + timedelta(hours=3)),
                    "performer": [_ref(f"Practitioner/{gp[0]}")],
                    "result": [_ref(f"Observation/{oid}") for oid in results],
                }  # fmt: skip
                if enc_ref:
                    report["encounter"] = _ref(enc_ref)
                ds.add(report, lab_time + timedelta(hours=3))
            day += timedelta(days=75 + rng.randrange(0, 60))
            visit += 1

        # Procedures.
        for code, en, zh in PROCEDURES:
            if rng.random() < 0.3:
                when_day = start + timedelta(days=rng.randrange(0, 365 * HISTORY_YEARS))
                proc = {
                    "resourceType": "Procedure",
                    "id": self.next_id("proc"),
                    "status": "completed",
                    "code": _cc([(SNOMED, code)], en, zh),
                    "subject": _ref(pref, self.name_en),
                    "performedDateTime": _dt(self.visit_time(when_day)),
                    "performer": [{"actor": _ref(f"Practitioner/{gp[0]}")}],
                }
                ds.add(proc, self.visit_time(when_day))

        # PHQ-9 / GAD-7 responses for patients with depression or anxiety.
        if "mdd" in conditions or "gad" in conditions:
            for n in range(3):
                when = self.visit_time(self.anchor - timedelta(days=90 * (n + 1)))
                if "mdd" in conditions:
                    self._response("q-phq9", PHQ9_URL, PHQ9_ITEMS, "44261-6", when)
                if "gad" in conditions:
                    self._response("q-gad7", GAD7_URL, GAD7_ITEMS, "70274-6", when)

    def _immunization(self, cvx: str, en: str, zh: str, when: date) -> None:
        imm = {
            "resourceType": "Immunization",
            "id": self.next_id("imm"),
            "status": "completed",
            "vaccineCode": _cc([(CVX, cvx)], en, zh),
            "patient": _ref(f"Patient/{self.pid}", self.name_en),
            "occurrenceDateTime": _dt(self.visit_time(when)),
            "primarySource": True,
        }
        self.ds.add(imm, self.visit_time(when))

    def _observation(self, *, category: str, codings: list, en: str, zh: str, when: datetime,
                     enc_ref: str | None, prefix: str = "obs") -> Resource:  # fmt: skip
        obs: Resource = {
            "resourceType": "Observation",
            "id": self.next_id(prefix),
            "status": "final",
            "category": _category(category, "Vital Signs" if category == "vital-signs" else "Laboratory"),
            "code": _cc(codings, en, zh),
            "subject": _ref(f"Patient/{self.pid}"),
            "effectiveDateTime": _dt(when),
        }
        if enc_ref:
            obs["encounter"] = _ref(enc_ref)
        return obs

    def _bp(self, when: datetime, systolic: float, diastolic: float, enc_ref: str | None, prefix: str = "obs") -> None:
        obs = self._observation(category="vital-signs", codings=[(LOINC, "85354-9")],
                                en="Blood pressure panel with all children optional", zh="血壓", when=when,
                                enc_ref=enc_ref, prefix=prefix)  # fmt: skip
        obs["component"] = [
            {"code": _cc([(LOINC, "8480-6")], "Systolic blood pressure", "收縮壓"),
             "valueQuantity": _quantity(systolic, "mm[Hg]", 0),
             "interpretation": _interpretation(systolic, 90, 130)},
            {"code": _cc([(LOINC, "8462-4")], "Diastolic blood pressure", "舒張壓"),
             "valueQuantity": _quantity(diastolic, "mm[Hg]", 0),
             "interpretation": _interpretation(diastolic, 60, 80)},
        ]  # fmt: skip
        self.ds.add(obs, when)

    def _vital(self, key: str, when: datetime, value: float, decimals: int, enc_ref: str | None,
               prefix: str = "obs") -> None:  # fmt: skip
        codings, en, zh, unit = VITALS[key]
        obs = self._observation(category="vital-signs", codings=codings, en=en, zh=zh, when=when, enc_ref=enc_ref,
                                prefix=prefix)  # fmt: skip
        obs["valueQuantity"] = _quantity(value, unit, decimals)
        self.ds.add(obs, when)

    def _lab(self, key: str, when: datetime, value: float, enc_ref: str | None, prefix: str = "obs") -> str:
        codings, en, zh, unit, low, high, decimals = LABS[key]
        obs = self._observation(category="laboratory", codings=codings, en=en, zh=zh, when=when, enc_ref=enc_ref,
                                prefix=prefix)  # fmt: skip
        obs["valueQuantity"] = _quantity(value, unit, decimals)
        obs["interpretation"] = _interpretation(value, low, high)
        ref_range: dict[str, Any] = {"text": "reference"}
        if low is not None:
            ref_range["low"] = _quantity(low, unit, decimals)
        if high is not None:
            ref_range["high"] = _quantity(high, unit, decimals)
        obs["referenceRange"] = [ref_range]
        self.ds.add(obs, when + timedelta(hours=3))
        return obs["id"]

    def _response(self, qid: str, url: str, items: list, total_code: str, when: datetime) -> None:
        scores = [self.rng.choice((0, 0, 1, 1, 2, 3)) for _ in items]
        answers = []
        for (code, en, _zh), score in zip(items, scores, strict=True):
            a_code, a_en = ANSWERS[score][0], ANSWERS[score][1]
            answers.append(
                {
                    "linkId": code,
                    "text": en,
                    "answer": [{"valueCoding": {"system": LOINC, "code": a_code, "display": a_en}}],
                }
            )
        answers.append({"linkId": total_code, "text": "Total score", "answer": [{"valueInteger": sum(scores)}]})
        qr = {
            "resourceType": "QuestionnaireResponse",
            "id": self.next_id("qr"),
            "questionnaire": url,
            "status": "completed",
            "subject": _ref(f"Patient/{self.pid}", self.name_en),
            "authored": _dt(when),
            "item": answers,
        }  # fmt: skip
        self.ds.add(qr, when)

    def build_heavy(self, observations: int) -> None:
        """A remote-monitoring patient: home BP, heart rate, weight and glucose readings, several a day."""
        rng = self.rng
        patient = self.patient()
        start = self.anchor - timedelta(days=365 * HISTORY_YEARS)
        self.ds.add(patient, datetime(start.year, start.month, start.day, 8, tzinfo=TPE))
        for key in ("t2dm", "htn"):
            icd, sct, en, zh = CONDITIONS[key]
            cond = {
                "resourceType": "Condition",
                "id": self.next_id("cond"),
                "clinicalStatus": _cc([("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")],
                                      "Active"),
                "code": {"coding": [{"system": ICD10CM, "code": icd, "display": en},
                                    {"system": SNOMED, "code": sct, "display": en}], "text": f"{zh} ({en})"},
                "subject": _ref(f"Patient/{self.pid}"),
                "onsetDateTime": start.isoformat(),
            }  # fmt: skip
            self.ds.add(cond, datetime(start.year, start.month, start.day, 9, tzinfo=TPE))
        per_day = 4
        days = max(1, -(-observations // per_day))
        first = self.anchor - timedelta(days=days - 1)
        made = 0
        weight = 78.0
        for d in range(days):
            day = first + timedelta(days=d)
            base = datetime(day.year, day.month, day.day, 7, 0, tzinfo=TPE)
            for slot in range(per_day):
                if made >= observations:
                    return
                when = base + timedelta(hours=4 * slot, minutes=rng.randrange(30))
                if slot == 0:
                    systolic = 138 + rng.uniform(-15, 15)
                    self._bp(when, systolic, systolic * 0.62 + rng.uniform(-5, 5), None, prefix="hobs")
                elif slot == 1:
                    self._vital("hr", when, 70 + rng.uniform(-8, 20), 0, None, prefix="hobs")
                elif slot == 2:
                    weight += rng.uniform(-0.3, 0.3)
                    self._vital("weight", when, weight, 1, None, prefix="hobs")
                else:
                    self._lab("glucose", when, 130 + rng.uniform(-30, 60), None, prefix="hobs")
                made += 1


def generate(
    *, patients: int = 25, heavy: int = 2, heavy_observations: int = 5200, seed: int = 20250630, anchor: date = ANCHOR
) -> Dataset:
    """Build the whole sandbox dataset in memory, deterministically."""
    ds = Dataset()
    base = datetime(anchor.year - HISTORY_YEARS, 1, 1, 8, tzinfo=TPE)
    for pid, gender, names, specialty in PRACTITIONERS:
        ds.add(practitioner(pid, gender, names, specialty), base)
    ds.add(questionnaire("q-phq9", PHQ9_URL, "44249-1", "PHQ-9 quick depression assessment panel",
                         "病人健康問卷（PHQ-9）", PHQ9_ITEMS, "44261-6"), base)  # fmt: skip
    ds.add(questionnaire("q-gad7", GAD7_URL, "69737-5", "Generalized anxiety disorder 7 item (GAD-7)",
                         "廣泛性焦慮量表（GAD-7）", GAD7_ITEMS, "70274-6"), base)  # fmt: skip
    members = []
    for index in range(1, patients + 1):
        builder = _PatientBuilder(ds, seed=seed, index=index, pid=f"p-{index:03d}", anchor=anchor)
        builder.build()
        members.append(f"Patient/p-{index:03d}")
    for index in range(1, heavy + 1):
        builder = _PatientBuilder(ds, seed=seed, index=900 + index, pid=f"p-h{index:02d}", anchor=anchor)
        builder.build_heavy(heavy_observations)
        members.append(f"Patient/p-h{index:02d}")
    group = {
        "resourceType": "Group",
        "id": "grp-all",
        "type": "person",
        "actual": True,
        "name": "All sandbox patients / 所有模擬病人",
        "quantity": len(members),
        "member": [{"entity": {"reference": ref}} for ref in members],
    }
    ds.add(group, base)
    if patients >= 3:
        ds.add(
            {
                "resourceType": "Group",
                "id": "grp-cardiometabolic",
                "type": "person",
                "actual": True,
                "name": "Cardiometabolic clinic / 心血管代謝門診",
                "quantity": 3,
                "member": [{"entity": {"reference": f"Patient/p-{i:03d}"}} for i in (1, 2, 3)],
            },
            base,
        )
    return ds


def iter_resources(ds: Dataset) -> Iterator[tuple[Resource, datetime]]:
    yield from ds.resources
