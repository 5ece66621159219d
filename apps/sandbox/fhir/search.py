"""The sandbox's FHIR R4 search engine: query parameters -> a queryset over `SandboxResource`.

FHIR R4 §search (http.html#search, search.html): parameters of one name are ANDed, comma-separated values
ORed; token `system|code`, `|code`, `system|`, `code`; date prefixes eq/ne/gt/lt/ge/le; `_count`, `_sort`,
`_lastUpdated`, `_id`. Unknown parameters are ignored (lenient handling) and left out of the `self` link, or
refused with 400 under `Prefer: handling=strict`. Access control (scopes, compartment) is applied as one more
filter built from `apps.sandbox.scopes.Decision`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from operator import or_

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from apps.sandbox.fhir.indexing import (
    COMMON_PARAMS,
    DATE,
    PATIENT,
    REFERENCE,
    SEARCH_PARAMS,
    STRING,
    TOKEN,
    normalise_reference,
    parse_date_range,
)
from apps.sandbox.models import SandboxResource, SandboxToken
from apps.sandbox.scopes import Decision

DEFAULT_COUNT = 50
MAX_COUNT = 1000
# Parameters about the result set rather than a filter; handled by the engine or the view.
RESULT_PARAMS = {"_count", "_sort", "_offset", "_format", "_total", "_summary", "_elements", "_pretty"}
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")


class SearchError(ValueError):
    """A search the server cannot honour: 400 with an OperationOutcome."""


@dataclass
class SearchQuery:
    queryset: QuerySet
    applied: list[tuple[str, str]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    want_total: bool = True


def _token_q(name: str, values: str) -> Q:
    alternatives = []
    for value in values.split(","):
        if "|" in value:
            system, code = value.split("|", 1)
            if code:
                alternatives.append(Q(system=system, code=code))
            else:
                alternatives.append(Q(system=system))
        elif value:
            alternatives.append(Q(code=value))
    if not alternatives:
        raise SearchError(f"Empty value for search parameter {name!r}")
    tokens = SandboxToken.objects.filter(resource=OuterRef("pk"), param=name).filter(reduce(or_, alternatives))
    return Q(Exists(tokens))


def _string_q(name: str, values: str) -> Q:
    alternatives = [Q(code__startswith=v.strip().lower()) for v in values.split(",") if v.strip()]
    if not alternatives:
        raise SearchError(f"Empty value for search parameter {name!r}")
    tokens = SandboxToken.objects.filter(resource=OuterRef("pk"), param=name).filter(reduce(or_, alternatives))
    return Q(Exists(tokens))


def _reference_q(name: str, values: str, target: str) -> Q:
    refs = [normalise_reference(v, target) for v in values.split(",")]
    refs = [r for r in refs if r]
    if not refs:
        raise SearchError(f"Invalid reference for search parameter {name!r}")
    return Q(Exists(SandboxToken.objects.filter(resource=OuterRef("pk"), param=name, code__in=refs)))


def _patient_q(name: str, values: str) -> Q:
    ids = []
    for value in values.split(","):
        ref = normalise_reference(value, "Patient")
        if not ref:
            raise SearchError(f"Invalid reference for search parameter {name!r}")
        # A subject that is not a Patient (Group/..., Device/...) is never in a patient compartment.
        ids.append(ref.split("/", 1)[1] if ref.startswith("Patient/") else "\x00none")
    return Q(patient_id__in=ids)


def date_q(column: str, values: str, name: str) -> Q:
    alternatives = []
    for value in values.split(","):
        prefix = value[:2] if value[:2] in _PREFIXES else "eq"
        raw = value[2:] if value[:2] in _PREFIXES else value
        try:
            low, high = parse_date_range(raw)
        except ValueError:
            raise SearchError(f"Invalid date {value!r} for search parameter {name!r}") from None
        alternatives.append(
            {
                "eq": Q(**{f"{column}__gte": low, f"{column}__lt": high}),
                "ne": Q(**{f"{column}__lt": low}) | Q(**{f"{column}__gte": high}),
                "gt": Q(**{f"{column}__gte": high}),
                "ge": Q(**{f"{column}__gte": low}),
                "lt": Q(**{f"{column}__lt": low}),
                "le": Q(**{f"{column}__lt": high}),
            }[prefix]
        )
    return reduce(or_, alternatives)


def param_q(resource_type: str, name: str, value: str) -> Q | None:
    """The filter for one `name=value` search parameter, or None when the type has no such parameter."""
    if name == "_id":
        return Q(logical_id__in=[v for v in value.split(",") if v])
    if name == "_lastUpdated":
        return date_q("last_updated", value, name)
    param = SEARCH_PARAMS.get(resource_type, {}).get(name)
    if param is None:
        return None
    if param.kind == TOKEN:
        return _token_q(name, value)
    if param.kind == STRING:
        return _string_q(name, value)
    if param.kind == DATE:
        return date_q("effective", value, name)
    if param.kind == PATIENT:
        return _patient_q(name, value)
    if param.kind == REFERENCE:
        return _reference_q(name, value, param.target)
    return None  # pragma: no cover - every kind is handled above


def access_q(resource_type: str, decision: Decision) -> Q | None:
    """The filter that limits results to what the grant may see; None when unrestricted."""
    if decision.unrestricted:
        return None
    clauses = []
    for clause in decision.clauses:
        q = Q()
        if clause.patient_id is not None:
            q &= Q(patient_id=clause.patient_id)
        for name, value in clause.constraints:
            constraint = param_q(resource_type, name, value) if name in _known(resource_type) else None
            # A granular scope on a parameter we do not index lets nothing through (fail closed).
            q &= constraint if constraint is not None else Q(pk__in=[])
        clauses.append(q)
    return reduce(or_, clauses) if clauses else Q(pk__in=[])


def _known(resource_type: str) -> set[str]:
    return COMMON_PARAMS | set(SEARCH_PARAMS.get(resource_type, {}))


def _int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SearchError(f"{name} must be a non-negative integer") from None
    if number < 0:
        raise SearchError(f"{name} must be a non-negative integer")
    return number


def build_search(
    resource_type: str, params: Iterable[tuple[str, str]], decision: Decision, *, strict: bool = False
) -> SearchQuery:
    qs = SandboxResource.objects.filter(resource_type=resource_type)
    limit = access_q(resource_type, decision)
    if limit is not None:
        qs = qs.filter(limit)
    search = SearchQuery(queryset=qs)
    order = ["id"]
    known = _known(resource_type)
    for name, value in params:
        if name == "_count":
            search.count = min(_int(value, "_count"), MAX_COUNT)
            search.applied.append((name, str(search.count)))
        elif name == "_offset":
            search.offset = _int(value, "_offset")
        elif name == "_total":
            search.want_total = value != "none"
        elif name == "_summary" and value == "count":
            search.count = 0
            search.applied.append((name, value))
        elif name == "_sort":
            order = _sort(resource_type, value, strict=strict)
            search.applied.append((name, value))
        elif name in RESULT_PARAMS:
            continue
        elif name in known:
            q = param_q(resource_type, name, value)
            if q is not None:
                qs = qs.filter(q)
                search.applied.append((name, value))
        elif strict:
            raise SearchError(f"Unknown search parameter {name!r} for {resource_type}")
        # Lenient handling: ignored, and absent from the self link so the client can tell.
    search.queryset = qs.order_by(*order)
    return search


def _sort(resource_type: str, value: str, *, strict: bool) -> list:
    keys: list = []
    date_params = {n for n, p in SEARCH_PARAMS.get(resource_type, {}).items() if p.kind == DATE}
    for raw in value.split(","):
        descending = raw.startswith("-")
        name = raw.lstrip("-")
        column = "effective" if name in date_params else "last_updated" if name == "_lastUpdated" else None
        if column is None:
            if strict:
                raise SearchError(f"Cannot sort {resource_type} by {name!r}")
            continue
        # Match the index direction (ASC NULLS LAST, scanned backwards for DESC) on every database.
        keys.append(F(column).desc(nulls_first=True) if descending else F(column).asc(nulls_last=True))
        tiebreak = "-id" if descending else "id"
    if not keys:
        return ["id"]
    return [*keys, tiebreak]


def page(search: SearchQuery) -> tuple[list[tuple[str, str]], int | None]:
    """(logical_id, json text) rows of the requested page, and the total when asked for.

    Two steps: the page's primary keys first (the OFFSET walks only the compartment index, an index-only scan
    on PostgreSQL once the table is vacuumed), then the JSON text of just those rows.
    """
    rows: list[tuple[str, str]] = []
    if search.count:
        pks = list(search.queryset.values_list("pk", flat=True)[search.offset : search.offset + search.count])
        found = {pk: (logical_id, text) for pk, logical_id, text in
                 SandboxResource.objects.filter(pk__in=pks).values_list("pk", "logical_id", "text")}  # fmt: skip
        rows = [found[pk] for pk in pks if pk in found]
    total = None
    if search.want_total:
        total = len(rows) if search.offset == 0 and len(rows) < search.count else search.queryset.order_by().count()
    return rows, total
