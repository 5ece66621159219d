"""Questionnaire write-back failures: kept locally, retried with backoff, status on the page, never lost.
`responses` injects the EHR's faults; everything else goes to the live sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from apps.core.tenancy import tenant_scope
from apps.engagement import services, tasks
from apps.engagement.models import StoredResponse
from tests.engagement.test_views_patient import PHQ9_ANSWERS

pytestmark = pytest.mark.django_db(transaction=True)


def _stored(launched) -> StoredResponse:
    with tenant_scope(launched.tenant):
        return StoredResponse.objects.get()


def test_failed_write_is_kept_retried_and_shown(patient):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{patient.base}/sandbox/fhir/QuestionnaireResponse", status=503)
        mock.add_passthru(patient.base)
        response = patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
        assert response.status_code == 302
        stored = _stored(patient)
        assert (stored.status, stored.attempts, stored.last_error) == ("retrying", 1, "http:503")
        assert stored.next_attempt_at > timezone.now() and stored.score == 18
        page = patient.http.get(patient.base + response.headers["Location"], timeout=60).text
        assert 'data-status="retrying"' in page and "will be sent automatically" in page
    # The EHR is back: the periodic sweep sends it once it is due.
    with tenant_scope(patient.tenant):
        StoredResponse.objects.filter(pk=stored.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert tasks.retry_due_responses() == 1
    stored = _stored(patient)
    if stored.status != "sent":  # a real broker: the sweep queued the task; run it the way a worker would
        assert tasks.deliver_response.apply(args=(patient.tenant.pk, stored.pk)).get() == "sent"
        stored = _stored(patient)
    assert stored.status == "sent" and stored.remote_response_id and stored.remote_observation_id


def test_observation_failure_does_not_resend_the_response(patient):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{patient.base}/sandbox/fhir/Observation", status=500)
        mock.add_passthru(patient.base)
        patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
    stored = _stored(patient)
    first_id = stored.remote_response_id
    assert stored.status == "retrying" and first_id and not stored.remote_observation_id
    response = patient.post("response", {}, pk=stored.pk)  # "Try again now"
    assert response.status_code == 302
    stored = _stored(patient)
    assert stored.status == "sent" and stored.remote_response_id == first_id and stored.remote_observation_id


def test_gives_up_after_max_attempts_but_keeps_the_answers(patient):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{patient.base}/sandbox/fhir/QuestionnaireResponse", status=502)
        mock.add_passthru(patient.base)
        patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
        stored = _stored(patient)
        with tenant_scope(patient.tenant):
            StoredResponse.objects.filter(pk=stored.pk).update(attempts=services.MAX_ATTEMPTS - 1)
            status = services.deliver(tenant_id=patient.tenant.pk, stored_id=stored.pk, force=True)
    assert status == "failed"
    stored = _stored(patient)
    assert stored.status == "failed" and '"linkId"' in stored.resource
    page = patient.get("response", pk=stored.pk).text
    assert 'data-status="failed"' in page and "Try again now" in page


def test_backoff_grows_and_is_capped_below_visibility_timeout():
    delays = [services.backoff(n) for n in range(1, 20)]
    assert delays[0] < delays[3] < delays[6]
    assert max(delays) <= 3600


def test_retry_task_scheduled_with_countdown_on_a_real_broker(patient, settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    monkeypatch.setattr(tasks.deliver_response, "apply_async", lambda args, countdown: sent.append((args, countdown)))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{patient.base}/sandbox/fhir/QuestionnaireResponse", status=503)
        mock.add_passthru(patient.base)
        patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
    stored = _stored(patient)
    assert sent and sent[0][0] == (patient.tenant.pk, stored.pk) and 0 < sent[0][1] <= 3600


def test_task_is_idempotent_once_sent(patient):
    patient.post("questionnaire", PHQ9_ANSWERS, slug="phq9")
    stored = _stored(patient)
    assert tasks.deliver_response(patient.tenant.pk, stored.pk) == "sent"
    assert _stored(patient).remote_response_id == stored.remote_response_id
