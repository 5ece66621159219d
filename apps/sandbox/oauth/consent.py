"""Plain-words descriptions of SMART scopes for the consent screen (English and 繁體中文)."""

from __future__ import annotations

from urllib.parse import unquote

from django.utils.translation import gettext as _

from apps.sandbox.oauth.scopes import parse_resource_scope


def _type_label(resource_type: str) -> str:
    labels = {
        "*": _("all kinds of health records"),
        "Patient": _("demographics (name, birth date, identifiers)"),
        "Observation": _("observations (vital signs, lab results)"),
        "Condition": _("conditions and diagnoses"),
        "MedicationRequest": _("medication prescriptions"),
        "AllergyIntolerance": _("allergies and intolerances"),
        "Immunization": _("immunizations"),
        "Encounter": _("visits and admissions"),
        "Procedure": _("procedures"),
        "DiagnosticReport": _("diagnostic reports"),
        "Practitioner": _("practitioners (doctors, nurses)"),
        "Questionnaire": _("questionnaires"),
        "QuestionnaireResponse": _("questionnaire answers"),
    }
    return labels.get(resource_type, resource_type)


def _verbs(permissions: frozenset[str]) -> str:
    names = [
        ("c", _("create")),
        ("r", _("read")),
        ("u", _("update")),
        ("d", _("delete")),
        ("s", _("search")),
    ]
    return _(", ").join(name for letter, name in names if letter in permissions)


def describe_scope(scope: str) -> str:
    fixed = {
        "openid": _("Confirm who you are (sign-in with OpenID Connect)"),
        "fhirUser": _("Know which user record is yours"),
        "profile": _("See your name and profile"),
        "launch": _("Open the patient and visit currently selected in the EHR"),
        "launch/patient": _("Know which patient's record is open"),
        "launch/encounter": _("Know which visit is open"),
        "offline_access": _("Keep access after you close the app, until you revoke it"),
        "online_access": _("Keep access while you remain signed in"),
    }
    if scope in fixed:
        return fixed[scope]
    parsed = parse_resource_scope(scope)
    if parsed is None:
        return scope
    whose = {
        "patient": _("This patient's"),
        "user": _("Any record you can access:"),
        "system": _("Without a user:"),
    }[parsed.context]
    text = _("%(whose)s %(what)s — %(verbs)s") % {
        "whose": whose,
        "what": _type_label(parsed.resource_type),
        "verbs": _verbs(parsed.permissions),
    }
    for key, value in parsed.query:
        shown = unquote(value).rsplit("|", 1)[-1]
        text += " " + _("(only where %(key)s is %(value)s)") % {"key": key, "value": shown}
    return text
