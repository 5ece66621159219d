"""Import FHIR R4 Bundles (transaction, batch or collection; e.g. Synthea output) into the sandbox store.

All or nothing: every entry is checked before anything is written, and the writes run in one database
transaction. `urn:uuid:` fullUrls become `Type/<uuid>` (the uuid is a valid FHIR id, so re-importing the same
bundle replaces the same resources with a new version instead of duplicating them); `PUT Type/id` entries keep
their id; conditional references `Type?identifier=system|value` resolve against the bundle's own entries.
Entry types the sandbox does not serve (Claim, Organization, Provenance, ...) are skipped and counted.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.sandbox import services
from apps.sandbox.fhir.indexing import ID_RE, SUPPORTED_TYPES, compartment_patient, normalise_reference
from apps.sandbox.fhir.validation import validate
from apps.sandbox.models import SandboxResource
from apps.sandbox.scopes import COMPARTMENT_TYPES

BUNDLE_TYPES = {"transaction", "batch", "collection"}
_UUID_URN = re.compile(r"^urn:uuid:([0-9a-fA-F-]{36})$")
_CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?identifier=(.*)$")
MAX_ERRORS_SHOWN = 20


class BundleError(ValueError):
    """The bundle is not importable; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = problems[:MAX_ERRORS_SHOWN]
        more = f"\n  ... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__("Invalid bundle:\n  " + "\n  ".join(shown) + more)


@dataclass
class ImportReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    ids: dict[str, str] = field(default_factory=dict)  # fullUrl -> "Type/id"


def _assigned_id(entry: dict, resource: dict, index: int, problems: list[str]) -> str:
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    if request.get("method") == "PUT" and isinstance(request.get("url"), str):
        ref = normalise_reference(request["url"])
        if ref and ref.split("/")[0] == resource["resourceType"]:
            return ref.split("/", 1)[1]
        problems.append(f"entry[{index}]: PUT url {request['url']!r} does not name a {resource['resourceType']}")
        return ""
    full_url = entry.get("fullUrl")
    if isinstance(full_url, str):
        match = _UUID_URN.match(full_url)
        if match:
            return match.group(1).lower()
    if isinstance(resource.get("id"), str) and ID_RE.match(resource["id"]):
        return resource["id"]
    return str(uuid.uuid4())


def _identifier_keys(resource: dict) -> list[str]:
    keys = []
    for ident in resource.get("identifier", []) or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            keys.append(f"{ident.get('system') or ''}|{ident['value']}")
            keys.append(ident["value"])
    return keys


def _rewrite(node: Any, mapping: dict[str, str], conditional: dict[str, list[str]], problems: list[str], where: str):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                node[key] = _resolve(value, mapping, conditional, problems, where)
            else:
                _rewrite(value, mapping, conditional, problems, where)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, mapping, conditional, problems, where)


def _resolve(reference: str, mapping: dict[str, str], conditional: dict[str, list[str]], problems, where) -> str:
    if reference in mapping:
        return mapping[reference]
    if reference.startswith("urn:uuid:"):
        # Unresolved urn:uuid references point at entries we skip (Organization, Medication ...): keep as-is.
        return reference
    match = _CONDITIONAL.match(reference)
    if match:
        resource_type, identifier = match.groups()
        targets = conditional.get(f"{resource_type}?{identifier}", [])
        if len(targets) > 1:
            problems.append(f"{where}: conditional reference {reference!r} matches {len(targets)} entries")
        return targets[0] if len(targets) == 1 else reference
    return reference


def import_bundle(*, bundle: Any) -> ImportReport:
    """Validate the whole bundle, then write it in one transaction. Raises BundleError when anything is wrong."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleError(["The file is not a FHIR Bundle (resourceType must be 'Bundle')"])
    if bundle.get("type") not in BUNDLE_TYPES:
        raise BundleError([f"Bundle.type must be one of {sorted(BUNDLE_TYPES)}, not {bundle.get('type')!r}"])
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleError(["Bundle.entry is missing or empty"])

    problems: list[str] = []
    report = ImportReport()
    mapping: dict[str, str] = {}
    conditional: dict[str, list[str]] = {}
    kept: list[tuple[int, dict]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(f"entry[{index}]: no resource with a resourceType")
            continue
        resource_type = resource["resourceType"]
        if resource_type not in SUPPORTED_TYPES:
            report.skipped[resource_type] += 1
            continue
        resource = copy.deepcopy(resource)
        new_id = _assigned_id(entry, resource, index, problems)
        if not new_id:
            continue
        target = f"{resource_type}/{new_id}"
        if target in seen:
            problems.append(f"entry[{index}]: {target} appears twice in the bundle")
            continue
        seen.add(target)
        if isinstance(entry.get("fullUrl"), str):
            mapping[entry["fullUrl"]] = target
        if isinstance(resource.get("id"), str) and resource["id"] != new_id:
            mapping[f"{resource_type}/{resource['id']}"] = target
        for key in _identifier_keys(resource):
            conditional.setdefault(f"{resource_type}?{key}", []).append(target)
        resource["id"] = new_id
        kept.append((index, resource))
    report.ids = dict(mapping)

    bundle_patients = {r["id"] for _, r in kept if r["resourceType"] == "Patient"}
    for index, resource in kept:
        where = f"entry[{index}] {resource['resourceType']}/{resource['id']}"
        _rewrite(resource, mapping, conditional, problems, where)
        problems.extend(f"{where}: {issue}" for issue in validate(resource))
        if resource["resourceType"] in COMPARTMENT_TYPES and resource["resourceType"] != "Patient":
            patient_id = compartment_patient(resource)
            if not patient_id:
                problems.append(f"{where}: does not reference its Patient")
            elif patient_id not in bundle_patients and not _stored_patient(patient_id):
                problems.append(f"{where}: references Patient/{patient_id}, which is neither in the bundle nor stored")
    if problems:
        raise BundleError(problems)

    with transaction.atomic():
        for _, resource in kept:
            _, created = services.upsert_resource(resource=resource)
            (report.created if created else report.updated)[resource["resourceType"]] += 1
    return report


def _stored_patient(patient_id: str) -> bool:
    return SandboxResource.objects.filter(resource_type="Patient", logical_id=patient_id).exists()
