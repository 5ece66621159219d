"""The grants contract the sandbox FHIR API relies on (apps.sandbox.grants)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import AccessToken

from apps.sandbox.grants import grant_for_request, issue_grant

pytestmark = pytest.mark.django_db


def _request(header: str | None):
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return RequestFactory().get("/sandbox/fhir/Patient", **extra)


def test_issue_grant_round_trips_launch_context():
    token = issue_grant(client_id="t-client", scopes="launch/patient patient/Observation.rs", patient_id="p-001")
    with CaptureQueriesContext(connection) as queries:
        grant = grant_for_request(_request(f"Bearer {token}"))
    assert len(queries) == 1
    assert grant is not None
    assert grant.client_id == "t-client"
    assert grant.scopes == frozenset({"launch/patient", "patient/Observation.rs"})
    assert grant.patient_id == "p-001"
    assert grant.fhir_user is None
    assert grant.is_system is False


def test_token_is_not_stored_in_clear():
    token = issue_grant(client_id="t-client", scopes="system/*.rs", is_system=True)
    row = AccessToken.objects.get()
    assert token not in (row.token or "")
    grant = grant_for_request(_request(f"bearer {token}"))
    assert grant is not None and grant.is_system


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer nope"])
def test_missing_or_unknown_token_is_none(header):
    issue_grant(client_id="t-client", scopes="user/*.rs")
    assert grant_for_request(_request(header)) is None


def test_expired_and_revoked_tokens_are_none():
    token = issue_grant(client_id="t-client", scopes="user/*.rs", fhir_user="Practitioner/pr-001")
    assert grant_for_request(_request(f"Bearer {token}")).fhir_user == "Practitioner/pr-001"
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert grant_for_request(_request(f"Bearer {token}")) is None
    token2 = issue_grant(client_id="t-client", scopes="user/*.rs")
    AccessToken.objects.filter(expires__gt=timezone.now()).get().revoke()
    assert grant_for_request(_request(f"Bearer {token2}")) is None
