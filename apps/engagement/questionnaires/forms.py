"""Rendering any FHIR R4 Questionnaire as an accessible HTML form and reading the answers back.

Item types: group, display, choice / open-choice (answerOption), integer, decimal, string, text, boolean, date,
dateTime (as a date). Other types are shown as "not supported here" and left unanswered. Field names are
`item-<n>` (position in the form), never the EHR's linkId, which is hostile input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from apps.engagement.fhir_extract import _dict, _list, _number, _s

MAX_ITEMS = 200
MAX_DEPTH = 5
MAX_TEXT = 2000
SUPPORTED = {"group", "display", "choice", "open-choice", "integer", "decimal", "string", "text", "boolean", "date",
             "dateTime"}  # fmt: skip
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
_INT = re.compile(r"^-?\d{1,9}$")
_DEC = re.compile(r"^-?\d{1,9}([.,]\d{1,6})?$")


def localized(element: dict[str, Any], name: str) -> str:
    """`element[name]`, or its zh-TW translation (FHIR translation extension) when 繁體中文 is active."""
    value = _s(element.get(name), 1000)
    if (get_language() or "").lower().startswith("zh"):
        for extension in _list(_dict(element.get(f"_{name}")).get("extension")):
            extension = _dict(extension)
            if extension.get("url") != TRANSLATION:
                continue
            parts = {_s(_dict(p).get("url")): _dict(p) for p in _list(extension.get("extension"))}
            lang = _s(parts.get("lang", {}).get("valueCode"), 20).lower()
            content = _s(parts.get("content", {}).get("valueString"), 1000)
            if lang.startswith("zh") and content:
                return content
    return value


@dataclass
class Option:
    index: int
    label: str
    answer: dict[str, Any]  # the QuestionnaireResponse answer value, e.g. {"valueCoding": {...}}


@dataclass
class FormItem:
    name: str  # form field name
    link_id: str
    text: str
    type: str
    required: bool
    read_only: bool
    options: list[Option] = field(default_factory=list)
    children: list[FormItem] = field(default_factory=list)
    value: str = ""
    error: str = ""
    code: str = ""  # first code (to recognise known instruments' total items)

    @property
    def answerable(self) -> bool:
        return self.type not in ("group", "display") and not self.read_only and self.type in SUPPORTED


def _options(item: dict[str, Any]) -> list[Option]:
    out = []
    for index, option in enumerate(_list(item.get("answerOption"))[:50]):
        option = _dict(option)
        if isinstance(option.get("valueCoding"), dict):
            coding = option["valueCoding"]
            text = localized(coding, "display") or _s(coding.get("code"), 100)
            kept = {k: coding[k] for k in ("system", "code", "display", "extension") if k in coding}
            out.append(Option(index, text, {"valueCoding": kept}))
        elif isinstance(option.get("valueString"), str):
            out.append(Option(index, _s(option["valueString"]), {"valueString": _s(option["valueString"])}))
        elif _number(option.get("valueInteger")) is not None:
            out.append(Option(index, str(int(option["valueInteger"])), {"valueInteger": int(option["valueInteger"])}))
        elif isinstance(option.get("valueDate"), str):
            out.append(Option(index, _s(option["valueDate"], 20), {"valueDate": _s(option["valueDate"], 20)}))
    return out


def build_form(questionnaire: dict[str, Any]) -> list[FormItem]:
    counter = [0]

    def walk(items: Any, depth: int) -> list[FormItem]:
        out = []
        for raw in _list(items):
            if counter[0] >= MAX_ITEMS or depth > MAX_DEPTH:
                break
            raw = _dict(raw)
            counter[0] += 1
            codes = [_s(_dict(c).get("code"), 40) for c in _list(raw.get("code"))]
            item = FormItem(
                name=f"item-{counter[0]}",
                link_id=_s(raw.get("linkId"), 100),
                text=localized(raw, "text"),
                type=_s(raw.get("type"), 20),
                required=raw.get("required") is True,
                read_only=raw.get("readOnly") is True,
                options=_options(raw),
                code=codes[0] if codes else "",
            )
            item.children = walk(raw.get("item"), depth + 1)
            out.append(item)
        return out

    return walk(questionnaire.get("item"), 0)


def _answer(item: FormItem, raw: str) -> tuple[dict[str, Any] | None, str]:
    """(QuestionnaireResponse answer, error message)."""
    raw = raw.strip()
    if not raw:
        return None, (_("Please answer this question.") if item.required else "")
    if item.type in ("choice", "open-choice") and item.options:
        if raw.isdigit() and int(raw) < len(item.options):
            return item.options[int(raw)].answer, ""
        if item.type == "open-choice" and not raw.isdigit():
            return {"valueString": raw[:MAX_TEXT]}, ""
        return None, _("Please choose one of the answers.")
    if item.type == "integer":
        return ({"valueInteger": int(raw)}, "") if _INT.match(raw) else (None, _("Please enter a whole number."))
    if item.type == "decimal":
        if _DEC.match(raw):
            return {"valueDecimal": float(raw.replace(",", "."))}, ""
        return None, _("Please enter a number.")
    if item.type == "boolean":
        if raw in ("true", "false"):
            return {"valueBoolean": raw == "true"}, ""
        return None, _("Please choose yes or no.")
    if item.type in ("date", "dateTime"):
        try:
            parsed = date.fromisoformat(raw[:10])
        except ValueError:
            return None, _("Please enter a date (YYYY-MM-DD).")
        return {"valueDate" if item.type == "date" else "valueDateTime": parsed.isoformat()}, ""
    if item.type in ("string", "text", "choice", "open-choice"):
        if len(raw) > MAX_TEXT:
            return None, _("Please keep the answer under %(n)s characters.") % {"n": MAX_TEXT}
        return {"valueString": raw}, ""
    return None, ""


def read_answers(form: list[FormItem], data: Any) -> tuple[list[dict[str, Any]], bool]:
    """Fill the form from POST data; returns (QuestionnaireResponse items, valid)."""
    valid = True

    def walk(items: list[FormItem]) -> list[dict[str, Any]]:
        nonlocal valid
        out = []
        for item in items:
            if item.type == "group":
                children = walk(item.children)
                if children:
                    out.append({"linkId": item.link_id, "text": item.text, "item": children})
                continue
            if not item.answerable:
                continue
            item.value = str(data.get(item.name, ""))[: MAX_TEXT + 1]
            answer, error = _answer(item, item.value)
            item.error = error
            if error:
                valid = False
            if answer is not None:
                out.append({"linkId": item.link_id, "text": item.text, "answer": [answer]})
        return out

    return walk(form), valid


def errors(form: list[FormItem]) -> list[FormItem]:
    out = []
    for item in form:
        if item.error:
            out.append(item)
        out.extend(errors(item.children))
    return out
