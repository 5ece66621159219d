from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.tenants.validation import normalize_fhir_base_url, normalize_origins, same_iss


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://EHR.Example.org/fhir/", "https://ehr.example.org/fhir"),
        ("https://ehr.example.org:443/fhir", "https://ehr.example.org/fhir"),
        ("https://ehr.example.org:8443/r4//", "https://ehr.example.org:8443/r4"),
        ("  https://ehr.example.org  ", "https://ehr.example.org"),
        ("http://127.0.0.1:8000/sandbox/fhir/", "http://127.0.0.1:8000/sandbox/fhir"),
        ("http://localhost/fhir", "http://localhost/fhir"),
        ("http://[::1]:9000/fhir", "http://[::1]:9000/fhir"),
    ],
)
def test_normalised_to_one_canonical_form(raw, expected):
    assert normalize_fhir_base_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("ehr.example.org/fhir", "invalid"),
        ("ftp://ehr.example.org/fhir", "invalid"),
        ("https://user:pw@ehr.example.org/fhir", "userinfo"),
        ("https://user@ehr.example.org/fhir", "userinfo"),
        ("https://ehr.example.org/fhir#x", "fragment"),
        ("https://ehr.example.org/fhir?tenant=1", "query"),
        ("http://ehr.example.org/fhir", "https_required"),
        ("https://ehr.example.org/fhir/../admin", "invalid"),
        ("https://ehr.example.org:99999/fhir", "invalid"),
    ],
)
def test_bad_urls_are_refused(raw, code):
    with pytest.raises(ValidationError) as info:
        normalize_fhir_base_url(raw)
    assert info.value.code == code


def test_plain_http_loopback_refused_in_production_settings(settings):
    settings.ALLOW_INSECURE_LOOPBACK_FHIR = False
    with pytest.raises(ValidationError) as info:
        normalize_fhir_base_url("http://127.0.0.1:8000/fhir")
    assert info.value.code == "https_required"
    assert normalize_fhir_base_url("https://127.0.0.1:8443/fhir") == "https://127.0.0.1:8443/fhir"


def test_same_iss_with_and_without_trailing_slash():
    assert same_iss("https://ehr.example.org/fhir/", "https://EHR.example.org/fhir")
    assert not same_iss("https://ehr.example.org/fhir", "https://ehr.example.org/fhir2")


def test_frame_ancestor_origins():
    assert normalize_origins("https://EHR.example.org, https://portal.example.org:443") == (
        "https://ehr.example.org https://portal.example.org"
    )
    with pytest.raises(ValidationError):
        normalize_origins("https://ehr.example.org/path")
    with pytest.raises(ValidationError):
        normalize_origins("javascript:alert(1)")
