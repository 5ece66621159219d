"""smart_style_url: only known keys, strictly validated values, served as a per-grant stylesheet."""

from __future__ import annotations

import pytest
import responses

from apps.engagement import style
from tests.engagement.conftest import make_launch

pytestmark = pytest.mark.django_db(transaction=True)


def test_sanitise_keeps_only_known_keys_and_valid_values():
    data = {
        "color_background": "#edeae3",
        "color_error": "rgb(255, 0, 0)",
        "color_highlight": "rgb(300, 0, 0)",
        "color_text": "red; } body { display:none",
        "color_success": "url(javascript:alert(1))",
        "dim_border_radius": "6px",
        "dim_font_size": "1.1rem",
        "dim_spacing_size": "calc(100vh)",
        "font_family_body": "Georgia, Times, 'Times New Roman', serif",
        "font_family_heading": "x</style><script>",
        "unknown": "#fff",
    }
    assert style.sanitise(data) == {
        "color_background": "#edeae3",
        "color_error": "rgb(255, 0, 0)",
        "dim_border_radius": "6px",
        "dim_font_size": "1.1rem",
        "font_family_body": "Georgia, Times, 'Times New Roman', serif",
    }
    assert style.sanitise(["not", "a", "dict"]) == {}


def test_stylesheet_served_per_grant(live, tenant_a, tenant_b, sandbox_records):
    url = f"{live}/ehr-style.json"
    launched = make_launch(live, tenant_a, patient="p-001", fhir_user="Practitioner/pr-001", style_url=url)
    plain = make_launch(live, tenant_a, patient="p-001", fhir_user="Practitioner/pr-001")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, url, json={"color_background": "#112233", "color_text": "expression(alert(1))"})
        mock.add_passthru(live)
        summary = launched.get("summary").text
        css = launched.get("style")
    assert 'href="/t/alpha/app/' in summary and "/e/style.css" in summary
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert "--smart-color-background: #112233;" in css.text and "expression" not in css.text
    assert "/e/style.css" not in plain.get("summary").text
    assert launched.get("style", tenant_slug=tenant_b.slug).status_code == 404
