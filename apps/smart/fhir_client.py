"""A small FHIR R4 client bound to one TokenGrant (SMART checklist R1, R4).

`Authorization: Bearer`; on 401 the grant is refreshed once and the request retried once; 429 honours
`Retry-After` (capped); 5xx and transport errors are retried with exponential backoff and jitter; every
request has timeouts; `Bundle.link[next]` is followed only while it stays under the grant's FHIR base.
Issue 6's views build on this; it is deliberately small.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from django.utils import timezone

from apps.smart import outbound, services
from apps.smart.models import TokenGrant

MAX_ATTEMPTS = 4
EXPIRY_MARGIN = timedelta(seconds=30)
BACKOFF_BASE_SECONDS = 0.5
MAX_RETRY_AFTER_SECONDS = 30
MAX_PAGES = 50
FHIR_JSON = "application/fhir+json"


class FhirError(Exception):
    def __init__(self, status: int, reason: str = "") -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"FHIR request failed: {status} {reason}")


class NeedsRelaunch(Exception):
    """The grant cannot be refreshed any more: show a re-launch prompt."""


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or "1"), 0.0), MAX_RETRY_AFTER_SECONDS)
    except ValueError:
        return 1.0


def _same_base(url: str, base: str) -> bool:
    target, root = urlsplit(url), urlsplit(base)
    return (
        target.scheme == root.scheme
        and target.netloc == root.netloc
        and (target.path.rstrip("/") + "/").startswith(root.path.rstrip("/") + "/")
    )


class FhirClient:
    def __init__(self, grant: TokenGrant, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.grant = grant
        self.base = grant.fhir_base_url.rstrip("/")
        self._sleep = sleep

    def _refresh(self) -> None:
        try:
            self.grant = services.refresh_grant(
                tenant_id=self.grant.tenant_id,
                grant_id=self.grant.pk,
                seen_version=self.grant.token_version,
                reason="401",
            )
        except services.GrantEnded:
            raise NeedsRelaunch() from None
        except services.RefreshFailed as exc:
            raise FhirError(401, f"refresh failed: {exc}") from None
        if not self.grant.is_active or not self.grant.access_token:
            raise NeedsRelaunch()

    def get_url(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if not _same_base(url, self.base):
            raise FhirError(0, "URL outside the FHIR base")
        if not self.grant.is_active or not self.grant.access_token:
            raise NeedsRelaunch()
        refreshed = False
        expires_at = self.grant.expires_at
        if expires_at is not None and expires_at <= timezone.now() + EXPIRY_MARGIN and self.grant.refresh_token:
            refreshed = True  # the one refresh this request may cause
            self._refresh()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = outbound.request(
                    "GET",
                    url,
                    params=params,
                    headers={"Authorization": f"Bearer {self.grant.access_token}", "Accept": FHIR_JSON},
                )
            except outbound.OutboundError as exc:
                if attempt >= MAX_ATTEMPTS:
                    raise FhirError(0, exc.reason) from None
                self._backoff(attempt)
                continue
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self._refresh()
                continue
            if response.status_code == 401:
                raise NeedsRelaunch()
            if response.status_code == 429 and attempt < MAX_ATTEMPTS:
                self._sleep(_retry_after(response.headers.get("Retry-After")))
                continue
            if response.status_code >= 500 and attempt < MAX_ATTEMPTS:
                self._backoff(attempt)
                continue
            if response.status_code != 200:
                raise FhirError(response.status_code)
            try:
                data = response.json()
            except ValueError:
                raise FhirError(response.status_code, "not JSON") from None
            if not isinstance(data, dict):
                raise FhirError(response.status_code, "not a FHIR resource")
            return data

    def _backoff(self, attempt: int) -> None:
        delay = BACKOFF_BASE_SECONDS * (2 ** (attempt - 1))
        self._sleep(delay + random.uniform(0, delay))  # noqa: S311 - jitter, not security

    def read(self, resource_type: str, logical_id: str) -> dict[str, Any]:
        return self.get_url(f"{self.base}/{quote(resource_type, safe='')}/{quote(logical_id, safe='')}")

    def search(self, resource_type: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every entry resource of a search, page by page (next links only under our FHIR base)."""
        url = f"{self.base}/{quote(resource_type, safe='')}"
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        for _page in range(MAX_PAGES):
            bundle = self.get_url(url)
            for entry in bundle.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield entry["resource"]
            next_url = next(
                (
                    link.get("url")
                    for link in bundle.get("link") or []
                    if isinstance(link, dict) and link.get("relation") == "next"
                ),
                None,
            )
            if not isinstance(next_url, str) or not _same_base(next_url, self.base):
                return
            url = next_url
