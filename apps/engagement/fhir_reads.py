"""Reading a patient's record from the EHR: several resource types in parallel, every page, cached per grant.

- One paged search per resource type per page view (the Observation search takes every category at once).
- Reads run in a ThreadPoolExecutor; each worker thread closes its database connections when done (a refresh
  of the grant on 401 may touch the database) and no transaction is open around the HTTP calls.
- Results are parsed into compact records (fhir_extract) and cached under the grant's id (Django cache:
  Redis in production), never shared between grants or tenants. Each cached value carries a random stamp,
  also stored under a small key of its own; a worker keeps the last few values it unpickled in memory and
  reuses one only while the shared cache still holds the same stamp (so a heavy patient's thousands of
  Observations are not unpickled on every page view, and an invalidation anywhere is seen everywhere).
  Refusals (403, 404, OperationOutcome) are cached too — they do not change during a grant — and shown as
  "not available"; transient errors are not.
"""

from __future__ import annotations

import contextvars
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from apps.engagement import fhir_extract, scopes
from apps.engagement.scoring import Score, score_response
from apps.smart.fhir_client import FhirClient, FhirError

CACHE_VERSION = 1
MAX_WORKERS = 8


class QrSummary(NamedTuple):
    id: str
    questionnaire: str
    status: str
    authored: Any
    score: Score | None


def _responses(resources: list[dict[str, Any]]) -> list[QrSummary]:
    out = []
    for res in resources:
        if not isinstance(res, dict) or res.get("resourceType") != "QuestionnaireResponse":
            continue
        out.append(
            QrSummary(
                id=fhir_extract._s(res.get("id"), 64),
                questionnaire=fhir_extract._s(res.get("questionnaire"), 300),
                status=fhir_extract._s(res.get("status"), 20),
                authored=fhir_extract.parse_datetime(res.get("authored")),
                score=score_response(res),
            )
        )
    out.sort(key=lambda r: r.authored or fhir_extract._EPOCH, reverse=True)
    return out


def _questionnaires(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Questionnaire"][:100]


def _first(resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    return resources[0] if resources and isinstance(resources[0], dict) else None


@dataclass(frozen=True)
class Query:
    resource_type: str
    params: tuple[tuple[str, str], ...] = ()
    parse: Callable[[list[dict[str, Any]]], Any] = list
    by_patient: bool = True  # add patient=<launch patient>
    read_patient: bool = False  # a read of Patient/<launch patient> instead of a search


QUERIES: dict[str, Query] = {
    "patient": Query("Patient", parse=_first, read_patient=True),
    "observations": Query("Observation", (("_count", "1000"),), fhir_extract.measurements),
    "conditions": Query("Condition", (("_count", "200"),), fhir_extract.problems),
    "medications": Query("MedicationRequest", (("_count", "200"),), fhir_extract.medications),
    "allergies": Query("AllergyIntolerance", (("_count", "200"),), fhir_extract.allergies),
    "immunizations": Query("Immunization", (("_count", "200"),), fhir_extract.immunizations),
    "encounters": Query("Encounter", (("_count", "200"),), fhir_extract.encounters),
    "responses": Query("QuestionnaireResponse", (("_count", "200"),), _responses),
    "questionnaires": Query(
        "Questionnaire", (("status", "active"), ("_count", "100")), _questionnaires, by_patient=False
    ),
}


class ReadResult(NamedTuple):
    status: str  # ok | denied | missing | error
    data: Any
    seconds: float  # time spent fetching (0 when served from the cache)
    cached: bool
    http_status: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class Reads:
    results: dict[str, ReadResult] = field(default_factory=dict)

    def __getitem__(self, name: str) -> ReadResult:
        return self.results[name]

    def data(self, name: str) -> Any:
        """The parsed data, or None when it could not be read."""
        result = self.results.get(name)
        return result.data if result is not None and result.ok else None


def cache_key(grant: Any, name: str) -> str:
    query = QUERIES[name]
    digest = hashlib.sha256(repr((query.resource_type, query.params, grant.patient)).encode()).hexdigest()[:16]
    return f"engagement:fhir:v{CACHE_VERSION}:{grant.tenant_id}:{grant.pk}:{name}:{digest}"


def _fetch(grant: Any, name: str, close_connections: bool = True) -> ReadResult:
    query = QUERIES[name]
    started = time.perf_counter()
    try:
        client = FhirClient(grant)
        if query.read_patient:
            resources = [client.read("Patient", grant.patient)]
        else:
            params = dict(query.params)
            if query.by_patient:
                params["patient"] = grant.patient
            resources = list(client.search(query.resource_type, params))
        if any(isinstance(r, dict) and r.get("resourceType") == "OperationOutcome" for r in resources[:1]):
            return ReadResult("missing", None, time.perf_counter() - started, False, 200)
        data = query.parse(resources)
        return ReadResult("ok", data, time.perf_counter() - started, False, 200)
    except FhirError as exc:
        if exc.status in (401, 403):
            status = "denied"
        elif exc.status in (400, 404, 405, 410, 501):
            status = "missing"
        else:
            status = "error"
        return ReadResult(status, None, time.perf_counter() - started, False, exc.status)
    finally:
        if close_connections:
            # A worker thread owns its own database connections (a 401 refresh reads/writes the grant).
            connections.close_all()


_LOCAL_MAX = 16
_local: OrderedDict[str, tuple[str, tuple[str, Any, int]]] = OrderedDict()
_local_lock = threading.Lock()


def _local_get(key: str, stamp: str) -> tuple[str, Any, int] | None:
    with _local_lock:
        entry = _local.get(key)
        if entry is None or entry[0] != stamp:
            return None
        _local.move_to_end(key)
        return entry[1]


def _local_put(key: str, stamp: str, value: tuple[str, Any, int]) -> None:
    with _local_lock:
        _local[key] = (stamp, value)
        _local.move_to_end(key)
        while len(_local) > _LOCAL_MAX:
            _local.popitem(last=False)


def _cache_get(keys: list[str]) -> dict[str, tuple[str, Any, int]]:
    """Values for `keys` from the shared cache, through the stamp-checked in-process copy."""
    stamps = cache.get_many([f"{key}:stamp" for key in keys])
    found: dict[str, tuple[str, Any, int]] = {}
    fetch = []
    for key in keys:
        stamp = stamps.get(f"{key}:stamp")
        if stamp is None:
            continue
        local = _local_get(key, stamp)
        if local is not None:
            found[key] = local
        else:
            fetch.append(key)
    if fetch:
        for key, (stamp, value) in cache.get_many(fetch).items():
            if stamp == stamps.get(f"{key}:stamp"):
                found[key] = value
                _local_put(key, stamp, value)
    return found


def _cache_set(values: dict[str, tuple[str, Any, int]], timeout: int) -> None:
    to_store: dict[str, Any] = {}
    for key, value in values.items():
        stamp = secrets.token_hex(8)
        to_store[key] = (stamp, value)
        to_store[f"{key}:stamp"] = stamp
        _local_put(key, stamp, value)
    cache.set_many(to_store, timeout=timeout)


def read(grant: Any, names: Iterable[str], *, use_cache: bool = True) -> Reads:
    """Read the named queries for the grant's patient; raises NeedsRelaunch when the grant is dead."""
    names = list(dict.fromkeys(names))
    reads = Reads()
    granted = grant.granted_scope_list
    to_fetch = []
    for name in names:
        query = QUERIES[name]
        needs_patient = query.by_patient or query.read_patient
        if (needs_patient and not grant.patient) or not scopes.can_read(granted, query.resource_type):
            reads.results[name] = ReadResult("denied", None, 0.0, False)
        else:
            to_fetch.append(name)
    keys = {name: cache_key(grant, name) for name in to_fetch}
    hits = _cache_get(list(keys.values())) if use_cache and keys else {}
    misses = []
    for name in to_fetch:
        if keys[name] in hits:
            status, data, http_status = hits[keys[name]]
            reads.results[name] = ReadResult(status, data, 0.0, True, http_status)
        else:
            misses.append(name)
    if misses:
        if len(misses) == 1:
            fetched = {misses[0]: _fetch(grant, misses[0], close_connections=False)}
        else:
            with ThreadPoolExecutor(max_workers=min(len(misses), MAX_WORKERS)) as pool:
                futures = {name: pool.submit(contextvars.copy_context().run, _fetch, grant, name) for name in misses}
                fetched = {name: future.result() for name, future in futures.items()}
        to_store = {}
        for name, result in fetched.items():
            reads.results[name] = result
            if result.status != "error":
                to_store[keys[name]] = (result.status, result.data, result.http_status)
        if to_store:
            _cache_set(to_store, settings.ENGAGEMENT_CACHE_SECONDS)
    return reads


def invalidate(grant: Any, names: Iterable[str]) -> None:
    keys = [cache_key(grant, name) for name in names]
    cache.delete_many(keys + [f"{key}:stamp" for key in keys])
