"""Creating resources at the EHR (FHIR R4 §http create) with the grant's token.

Built on apps.smart.fhir_client.FhirClient (same destination checks, Bearer auth, refresh once on 401), adding
the one interaction it lacks. A create is not retried here on 5xx or timeouts — the caller's task retries the
whole write later with backoff, after recording what already succeeded.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from apps.smart import outbound as http
from apps.smart.fhir_client import FHIR_JSON, FhirClient, FhirError, NeedsRelaunch, _same_base


class WriteError(Exception):
    def __init__(self, code: str, status: int = 0) -> None:
        self.code = code
        self.status = status
        super().__init__(f"{code} ({status})")


class FhirWriter(FhirClient):
    def create(self, resource: dict[str, Any]) -> str:
        """POST the resource; returns the id the EHR gave it."""
        resource_type = str(resource.get("resourceType", ""))
        url = f"{self.base}/{quote(resource_type, safe='')}"
        if not _same_base(url, self.base):
            raise WriteError("bad_url")
        body = json.dumps(resource, ensure_ascii=False).encode()
        refreshed = False
        while True:
            if not self.grant.is_active or not self.grant.access_token:
                raise NeedsRelaunch()
            try:
                response = http.request(
                    "POST",
                    url,
                    data=body,
                    headers={
                        "Authorization": f"Bearer {self.grant.access_token}",
                        "Accept": FHIR_JSON,
                        "Content-Type": FHIR_JSON,
                        "Prefer": "return=representation",
                    },
                )
            except http.OutboundError as exc:
                raise WriteError(f"transport:{exc.reason}") from None
            if response.status_code == 401 and not refreshed:
                refreshed = True
                try:
                    self._refresh()
                except FhirError as exc:
                    raise WriteError("refresh_failed", exc.status) from None
                continue
            if response.status_code == 401:
                raise NeedsRelaunch()
            if response.status_code not in (200, 201):
                raise WriteError("http", response.status_code)
            return _created_id(response, resource_type)


def _created_id(response: Any, resource_type: str) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and len(data["id"]) <= 64:
        return data["id"]
    location = response.headers.get("Location") or response.headers.get("Content-Location") or ""
    parts = location.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == resource_type and len(parts[-1]) <= 64:
        return parts[-1]
    raise WriteError("no_id", response.status_code)
