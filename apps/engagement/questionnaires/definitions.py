"""PHQ-9 and GAD-7 as FHIR R4 Questionnaires (LOINC panels 44249-1 and 69737-5, answer list LL358-3), with
their wording in the active language. Item texts are the instruments' published wording (Pfizer, free to use)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.engagement.codes import LOINC
from apps.engagement.scoring import GAD7, PHQ9, Instrument

ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
ANSWERS = [
    ("LA6568-5", gettext_lazy("Not at all"), 0),
    ("LA6569-3", gettext_lazy("Several days"), 1),
    ("LA6570-1", gettext_lazy("More than half the days"), 2),
    ("LA6571-9", gettext_lazy("Nearly every day"), 3),
]
ITEM_TEXT = {
    "44250-9": gettext_lazy("Little interest or pleasure in doing things"),
    "44255-8": gettext_lazy("Feeling down, depressed, or hopeless"),
    "44259-0": gettext_lazy("Trouble falling or staying asleep, or sleeping too much"),
    "44254-1": gettext_lazy("Feeling tired or having little energy"),
    "44251-7": gettext_lazy("Poor appetite or overeating"),
    "44258-2": gettext_lazy(
        "Feeling bad about yourself — or that you are a failure or have let yourself or your family down"
    ),
    "44252-5": gettext_lazy("Trouble concentrating on things, such as reading the newspaper or watching television"),
    "44253-3": gettext_lazy(
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so fidgety "
        "or restless that you have been moving around a lot more than usual"
    ),
    "44260-8": gettext_lazy("Thoughts that you would be better off dead or of hurting yourself in some way"),
    "69725-0": gettext_lazy("Feeling nervous, anxious, or on edge"),
    "68509-9": gettext_lazy("Not being able to stop or control worrying"),
    "69733-4": gettext_lazy("Worrying too much about different things"),
    "69734-2": gettext_lazy("Trouble relaxing"),
    "69735-9": gettext_lazy("Being so restless that it is hard to sit still"),
    "69689-8": gettext_lazy("Becoming easily annoyed or irritable"),
    "69736-7": gettext_lazy("Feeling afraid as if something awful might happen"),
}
INTRO = gettext_lazy("Over the last 2 weeks, how often have you been bothered by any of the following problems?")


def questionnaire(instrument: Instrument) -> dict[str, Any]:
    """The instrument as a FHIR Questionnaire, texts in the active language."""
    options = [
        {"valueCoding": {"system": LOINC, "code": code, "display": str(text)},
         "extension": [{"url": ORDINAL, "valueDecimal": score}]}
        for code, text, score in ANSWERS
    ]  # fmt: skip
    return {
        "resourceType": "Questionnaire",
        "id": instrument.key,
        "url": instrument.url,
        "status": "active",
        "title": str(instrument.title),
        "description": str(INTRO),
        "code": [{"system": LOINC, "code": instrument.panel}],
        "item": [
            *(
                {"linkId": code, "code": [{"system": LOINC, "code": code}], "text": str(ITEM_TEXT[code]),
                 "type": "choice", "required": True, "answerOption": options}
                for code in instrument.items
            ),
            {"linkId": instrument.total, "code": [{"system": LOINC, "code": instrument.total}],
             "text": _("Total score"), "type": "integer", "readOnly": True},
        ],
    }  # fmt: skip


BUILT_IN = {PHQ9.key: PHQ9, GAD7.key: GAD7}
