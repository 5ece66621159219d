"""`smart_style_url` (SMART App Launch 2.2 §styling): the EHR's style JSON, sanitised, served as CSS custom
properties from a per-grant stylesheet URL (the CSP allows no inline style).

Only the keys the spec names are read; each value must match a strict pattern (hex / rgb() / rgba() colours,
px/em/rem sizes, font-family names from a small character allowlist). Anything else is dropped. The fetch goes
through apps.smart.http (destination checks, timeouts, no redirects) and the result is cached per grant.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.cache import cache

from apps.smart import outbound as http

COLOR = re.compile(
    r"^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{4}|#[0-9a-fA-F]{6}|#[0-9a-fA-F]{8}|"
    r"rgba?\(\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*(,\s*(0|1|0?\.\d{1,3})\s*)?\))$"
)
SIZE = re.compile(r"^\d{1,3}(\.\d{1,3})?(px|em|rem)$")
FONT = re.compile(r"^[A-Za-z0-9 ,\-_'\"]{1,200}$")
KEYS = {
    "color_background": COLOR,
    "color_error": COLOR,
    "color_highlight": COLOR,
    "color_modal_backdrop": COLOR,
    "color_success": COLOR,
    "color_text": COLOR,
    "dim_border_radius": SIZE,
    "dim_font_size": SIZE,
    "dim_spacing_size": SIZE,
    "font_family_body": FONT,
    "font_family_heading": FONT,
}
MAX_BYTES = 32_000


def _font_ok(value: str) -> bool:
    # Quotes must pair up and may not hide anything but a family name.
    return value.count('"') % 2 == 0 and value.count("'") % 2 == 0 and "--" not in value


def sanitise(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    out = {}
    for key, pattern in KEYS.items():
        value = data.get(key)
        if not isinstance(value, str):
            continue
        value = value.strip()
        if not pattern.match(value):
            continue
        if key.startswith("color_") and value.startswith("rgb"):
            numbers = [int(n) for n in re.findall(r"\d{1,3}(?=%?\s*[,)])", value)[:3]]
            if any(n > 255 for n in numbers):
                continue
        if key.startswith("font_") and not _font_ok(value):
            continue
        out[key] = value
    return out


def fetch(url: str) -> dict[str, str]:
    if not url.startswith(("https://", "http://")):
        return {}
    try:
        response = http.request("GET", url, headers={"Accept": "application/json"}, stream=True)
    except http.OutboundError:
        return {}
    try:
        if response.status_code != 200:
            return {}
        raw = response.raw.read(MAX_BYTES + 1, decode_content=True)
        if len(raw) > MAX_BYTES:
            return {}
        import json

        return sanitise(json.loads(raw))
    except (ValueError, OSError):
        return {}
    finally:
        response.close()


def for_grant(grant: Any) -> dict[str, str]:
    if not grant.smart_style_url:
        return {}
    key = f"engagement:style:{grant.tenant_id}:{grant.pk}"
    cached = cache.get(key)
    if cached is None:
        cached = fetch(grant.smart_style_url)
        cache.set(key, cached, timeout=3600)
    return cached


def css(values: dict[str, str]) -> str:
    """`:root` custom properties; values already matched the patterns above, so they cannot close the rule."""
    lines = [f"  --smart-{key.replace('_', '-')}: {value};" for key, value in sorted(values.items())]
    return ":root {\n" + "\n".join(lines) + "\n}\n"
