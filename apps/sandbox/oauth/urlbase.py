"""Sandbox URLs are derived from each request, so the sandbox works on any host and port."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse

SANDBOX_TENANT = "sandbox"  # SMART `tenant` launch parameter: the sandbox plays a single-tenant EHR


def origin_of(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def origin_from_uri(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def fhir_base_path() -> str:
    return reverse("sandbox_oauth:smart-configuration").removesuffix("/.well-known/smart-configuration")


def fhir_base(origin: str) -> str:
    return origin + fhir_base_path()


def absolute(origin: str, name: str) -> str:
    return origin + reverse(f"sandbox_oauth:{name}")


def endpoints(origin: str) -> dict[str, str]:
    return {
        "issuer": fhir_base(origin),
        "fhir_base": fhir_base(origin),
        "authorize": absolute(origin, "authorize"),
        "token": absolute(origin, "token"),
        "introspect": absolute(origin, "introspect"),
        "revoke": absolute(origin, "revoke"),
        "jwks": absolute(origin, "jwks"),
        "style": absolute(origin, "style"),
    }
