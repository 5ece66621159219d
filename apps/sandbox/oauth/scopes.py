"""SMART App Launch 2.2 scope syntax (§scopes-and-launch-context), v1 and v2, for the sandbox server.

v1: `patient/Observation.read`, `user/*.write`, `system/*.*`
v2: `patient/Observation.rs`, granular `patient/Observation.rs?category=http://…|laboratory`;
    permission letters in c-r-u-d-s order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from oauth2_provider.scopes import BaseScopes

IDENTITY_SCOPES = ("openid", "fhirUser", "profile")
LAUNCH_SCOPES = ("launch", "launch/patient", "launch/encounter")
OFFLINE_SCOPES = ("offline_access", "online_access")
SPECIAL_SCOPES = frozenset(IDENTITY_SCOPES + LAUNCH_SCOPES + OFFLINE_SCOPES)

_RESOURCE_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{1,63})\.(?P<perm>read|write|\*|c?r?u?d?s?)"
    r"(?:\?(?P<query>[^\s]{1,500}))?$"
)


@dataclass(frozen=True)
class ResourceScope:
    context: str  # patient | user | system
    resource_type: str  # "*" or a FHIR type
    permissions: frozenset[str]  # subset of {"c","r","u","d","s"}
    query: tuple[tuple[str, str], ...]  # granular restriction, e.g. (("category", "…|laboratory"),)
    v2: bool


def parse_resource_scope(scope: str) -> ResourceScope | None:
    match = _RESOURCE_SCOPE.match(scope)
    if not match or not match.group("perm"):
        return None
    perm = match.group("perm")
    query = match.group("query")
    if perm in {"read", "write", "*"}:
        if query:  # granular restrictions exist only in v2 syntax
            return None
        letters = {"read": "rs", "write": "cud", "*": "cruds"}[perm]
        v2 = False
    else:
        letters = perm
        v2 = True
    pairs: tuple[tuple[str, str], ...] = ()
    if query:
        parsed = parse_qsl(query, keep_blank_values=False, strict_parsing=False)
        if not parsed:
            return None
        pairs = tuple(parsed)
    return ResourceScope(match.group("context"), match.group("type"), frozenset(letters), pairs, v2)


def is_valid_scope(scope: str) -> bool:
    return scope in SPECIAL_SCOPES or parse_resource_scope(scope) is not None


class SmartScopes(BaseScopes):
    """DOT scopes backend. SMART scopes are a grammar, not a list, so validation lives in the validator."""

    def get_all_scopes(self):
        return {scope: scope for scope in SPECIAL_SCOPES}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        return list(SPECIAL_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return []
