"""The sandbox EHR's FHIR R4 REST API: capabilities, read, vread, search, create.

Every data request is authorised by the bearer token's grant (apps.sandbox.grants) and its SMART scopes
(apps.sandbox.scopes): the type and interaction must be granted, and patient/ scopes confine reads, searches
and writes to the launch patient's compartment. A read outside what the grant may see is a 404, exactly as
for a resource that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import http_date

from apps.sandbox import selectors, services
from apps.sandbox.fhir import search as engine
from apps.sandbox.fhir.http import (
    FHIR_JSON,
    FhirError,
    authorize,
    fhir_base,
    fhir_view,
    json_response,
    outcome,
)
from apps.sandbox.fhir.indexing import (
    DATE,
    PATIENT,
    REFERENCE,
    SEARCH_PARAMS,
    STRING,
    SUPPORTED_TYPES,
    compartment_patient,
    format_instant,
    index_resource,
)
from apps.sandbox.fhir.validation import validate
from apps.sandbox.scopes import Decision

CREATABLE = ("Observation", "QuestionnaireResponse")
SOFTWARE_DATE = "2025-06-30"
_FHIR_PARAM_TYPES = {DATE: "date", STRING: "string", PATIENT: "reference", REFERENCE: "reference"}


def _check_type(resource_type: str) -> None:
    if resource_type not in SUPPORTED_TYPES:
        raise FhirError(404, f"Resource type {resource_type!r} is not supported", code="not-supported")


def _prefer(request: HttpRequest) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for part in request.META.get("HTTP_PREFER", "").split(","):
        key, _, value = part.strip().partition("=")
        if key:
            prefs[key.strip().lower()] = value.strip().strip('"').lower()
    return prefs


# ---------------------------------------------------------------------------------------------------------------
# Capabilities


@fhir_view("GET")
def metadata(request: HttpRequest) -> HttpResponse:
    """FHIR R4 CapabilityStatement; `rest.security` carries SMART's `oauth-uris` extension for older clients."""
    base = fhir_base(request)

    def absolute(name: str) -> str:
        return request.build_absolute_uri(reverse(f"sandbox_oauth:{name}"))

    resources = []
    for resource_type in SUPPORTED_TYPES:
        interactions = [{"code": "read"}, {"code": "vread"}, {"code": "search-type"}]
        if resource_type in CREATABLE:
            interactions.append({"code": "create"})
        params = [
            {"name": name, "type": _FHIR_PARAM_TYPES.get(param.kind, "token")}
            for name, param in SEARCH_PARAMS[resource_type].items()
        ]
        entry = {
            "type": resource_type,
            "interaction": interactions,
            "versioning": "versioned",
            "readHistory": False,
            "searchParam": params,
        }
        if resource_type == "Group":
            entry["operation"] = [
                {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}
            ]
        resources.append(entry)
    body = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": SOFTWARE_DATE,
        "publisher": "CareLaunch",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "software": {"name": "CareLaunch sandbox EHR", "version": "1.0"},
        "implementation": {
            "description": "CareLaunch built-in SMART on FHIR sandbox EHR (synthetic data)",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Dates without a time zone in search parameters are read as UTC.",
                "security": {
                    "cors": True,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [
                                {"url": "authorize", "valueUri": absolute("authorize")},
                                {"url": "token", "valueUri": absolute("token")},
                                {"url": "introspect", "valueUri": absolute("introspect")},
                                {"url": "revoke", "valueUri": absolute("revoke")},
                            ],
                        }
                    ],
                },
                "resource": resources,
                "searchParam": [
                    {"name": "_id", "type": "token"},
                    {"name": "_lastUpdated", "type": "date"},
                    {"name": "_count", "type": "number"},
                    {"name": "_sort", "type": "string"},
                ],
                "operation": [
                    {
                        "name": "export",
                        "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
                    }
                ],
            }
        ],
    }
    response = json_response(body)
    request.phi_response = False
    response["Cache-Control"] = "no-cache"
    return response


# ---------------------------------------------------------------------------------------------------------------
# Read


def _resource_response(text: str, version: int, last_updated: datetime, status: int = 200) -> HttpResponse:
    response = json_response(text, status)
    response["ETag"] = f'W/"{version}"'
    response["Last-Modified"] = http_date(last_updated.timestamp())
    return response


def _read(request: HttpRequest, resource_type: str, logical_id: str, version: str | None = None) -> HttpResponse:
    _check_type(resource_type)
    _, decision = authorize(request, resource_type, "read")
    row = selectors.readable_resource(resource_type=resource_type, logical_id=logical_id, decision=decision)
    if row is None or (version is not None and version != str(row.version_id)):
        raise FhirError(404, f"{resource_type}/{logical_id} is not known", code="not-found")
    return _resource_response(row.text, row.version_id, row.last_updated)


@fhir_view("GET")
def read(request: HttpRequest, resource_type: str, logical_id: str) -> HttpResponse:
    return _read(request, resource_type, logical_id)


@fhir_view("GET")
def vread(request: HttpRequest, resource_type: str, logical_id: str, version: str) -> HttpResponse:
    return _read(request, resource_type, logical_id, version)


# ---------------------------------------------------------------------------------------------------------------
# Search and create


@fhir_view("GET", "POST")
def type_endpoint(request: HttpRequest, resource_type: str) -> HttpResponse:
    _check_type(resource_type)
    if request.method == "POST":
        return _create(request, resource_type)
    return _search(request, resource_type, list(_items(request.GET)))


@fhir_view("POST")
def search_post(request: HttpRequest, resource_type: str) -> HttpResponse:
    """POST [type]/_search with form-encoded parameters (FHIR R4 §http search)."""
    _check_type(resource_type)
    return _search(request, resource_type, [*_items(request.GET), *_items(request.POST)])


def _items(query) -> list[tuple[str, str]]:
    return [(key, value) for key, values in query.lists() for value in values]


def _search(request: HttpRequest, resource_type: str, params: list[tuple[str, str]]) -> HttpResponse:
    _, decision = authorize(request, resource_type, "search")
    strict = _prefer(request).get("handling") == "strict"
    try:
        query = engine.build_search(resource_type, params, decision, strict=strict)
        rows, total = engine.page(query)
    except engine.SearchError as error:
        raise FhirError(400, str(error), code="invalid") from None
    base = fhir_base(request)
    return json_response(_bundle(base, resource_type, query, rows, total))


def _bundle(base: str, resource_type: str, query: engine.SearchQuery, rows: list, total: int | None) -> str:
    """The searchset Bundle as text: stored resource JSON is spliced in without being parsed again."""

    def link(offset: int) -> str:
        params = list(query.applied)
        if not any(name == "_count" for name, _ in params):
            params.append(("_count", str(query.count)))
        if offset:
            params.append(("_offset", str(offset)))
        return f"{base}{resource_type}?{urlencode(params)}"

    links = [{"relation": "self", "url": link(query.offset)}]
    has_more = len(rows) == query.count and query.count > 0
    if has_more and (total is None or query.offset + query.count < total):
        links.append({"relation": "next", "url": link(query.offset + query.count)})
    if query.offset and query.count:
        links.append({"relation": "previous", "url": link(max(0, query.offset - query.count))})
    prefix = f"{base}{resource_type}/"
    entries = ",".join(
        '{"fullUrl":%s,"resource":%s,"search":{"mode":"match"}}' % (json.dumps(prefix + logical_id), text)  # noqa: UP031
        for logical_id, text in rows
    )
    head = {
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": {"lastUpdated": format_instant(datetime.now(UTC))},
    }
    if total is not None:
        head["total"] = total
    head["link"] = links
    return json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"entry":[' + entries + "]}"


def _create(request: HttpRequest, resource_type: str) -> HttpResponse:
    if resource_type not in CREATABLE:
        raise FhirError(405, f"Create is not supported for {resource_type}", code="not-supported")
    _grant, decision = authorize(request, resource_type, "create")
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise FhirError(400, "The body is not valid JSON", code="structure") from None
    issues = validate(body, expected_type=resource_type, on_create=True)
    if issues:
        raise FhirError(400, issues, code="structure")
    patient_id = compartment_patient(body)
    if not patient_id:
        raise FhirError(422, f"{resource_type}.subject must reference a Patient", code="processing")
    if not selectors.patient_exists(patient_id):
        raise FhirError(422, f"{resource_type}.subject references an unknown Patient", code="processing")
    if not _may_write(resource_type, body, patient_id, decision):
        raise FhirError(403, "The granted scopes do not allow writing this resource for this patient", code="forbidden")
    row = services.create_resource(resource=body)
    location = f"{fhir_base(request)}{resource_type}/{row.logical_id}/_history/{row.version_id}"
    if _prefer(request).get("return") == "minimal":
        response = HttpResponse(status=201)
    else:
        response = _resource_response(row.text, row.version_id, row.last_updated, status=201)
    response["Location"] = location
    response["ETag"] = f'W/"{row.version_id}"'
    return response


def _may_write(resource_type: str, body: dict, patient_id: str, decision: Decision) -> bool:
    """Does any clause of the decision admit this new resource (compartment and granular constraints)?"""
    tokens = index_resource({**body, "resourceType": resource_type}).tokens
    for clause in decision.clauses:
        if clause.patient_id is not None and clause.patient_id != patient_id:
            continue
        if all(_token_matches(tokens, name, value) for name, value in clause.constraints):
            return True
    return False


def _token_matches(tokens: list[tuple[str, str, str]], name: str, value: str) -> bool:
    for alternative in value.split(","):
        system, sep, code = alternative.partition("|")
        if not sep:
            code = system
        for param, t_system, t_code in tokens:
            if param != name:
                continue
            if sep and code and (t_system, t_code) == (system, code):
                return True
            if sep and not code and t_system == system:
                return True
            if not sep and t_code == code:
                return True
    return False


@fhir_view("GET", "POST", "PUT", "DELETE", "PATCH", accept=lambda request: True)
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return outcome(404, f"No FHIR endpoint at {request.path}", code="not-found")
