"""Writes of the engagement pages: audit of what was shown, card dismissals, questionnaire responses
(stored locally first, then written to the EHR; failures retried by tasks.deliver_response)."""

from __future__ import annotations

import json
import logging
import random
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit import services as audit
from apps.engagement import fhir_reads, scopes
from apps.engagement.context import Context
from apps.engagement.models import CardDismissal, StoredResponse
from apps.engagement.questionnaires.forms import FormItem
from apps.engagement.scoring import INSTRUMENTS, Instrument, score_answers
from apps.engagement.writer import FhirWriter, WriteError
from apps.smart.fhir_client import NeedsRelaunch
from apps.smart.models import TokenGrant

logger = logging.getLogger("carelaunch.engagement")

MAX_ATTEMPTS = 12
MAX_COUNTDOWN = 3600  # below the broker's 2 h visibility timeout
BASE_COUNTDOWN = 30


def record_view(ctx: Context, *, page: str, detail: dict[str, Any] | None = None) -> None:
    """Who saw which patient's what (every page showing patient data)."""
    audit.record(
        action="engagement.view",
        actor=ctx.actor,
        tenant=ctx.tenant,
        target=page,
        patient=f"Patient/{ctx.patient_id}",
        detail={"page": page, "role": ctx.role, "fhir_user": ctx.grant.fhir_user, "grant": ctx.grant.pk,
                **(detail or {})},
    )  # fmt: skip


# --- decision support --------------------------------------------------------------------------------------------


def dismiss_card(*, ctx: Context, card: dict[str, Any], reason: str, comment: str = "") -> CardDismissal:
    try:
        with transaction.atomic():
            dismissal = CardDismissal.objects.create(
                tenant=ctx.tenant,
                patient=ctx.patient_ref,
                rule=card["rule"],
                fingerprint=card["fingerprint"],
                reason=reason,
                comment=comment[:500],
                dismissed_by=ctx.actor,
                fhir_user=ctx.grant.fhir_user[:500],
            )
    except IntegrityError:
        dismissal = CardDismissal.objects.get(
            tenant=ctx.tenant, patient=ctx.patient_ref, rule=card["rule"], fingerprint=card["fingerprint"]
        )
    audit.record(
        action="engagement.card.dismiss",
        actor=ctx.actor,
        tenant=ctx.tenant,
        target=f"rule:{card['rule']}",
        patient=f"Patient/{ctx.patient_id}",
        detail={"rule": card["rule"], "card": card["uuid"], "fingerprint": card["fingerprint"], "reason": reason,
                "comment": comment[:500], "fhir_user": ctx.grant.fhir_user},
    )  # fmt: skip
    return dismissal


# --- questionnaire responses -------------------------------------------------------------------------------------


def _reference(fhir_user: str, base: str) -> str:
    base = base.rstrip("/") + "/"
    return fhir_user[len(base) :] if fhir_user.startswith(base) else fhir_user


def build_response(
    *, ctx: Context, questionnaire: dict[str, Any], items: list[dict[str, Any]], form: list[FormItem],
    instrument: Instrument | None,
) -> tuple[dict[str, Any], int | None]:  # fmt: skip
    """The QuestionnaireResponse (FHIR R4) and the computed total for a known instrument."""
    total = None
    if instrument is not None:
        from apps.engagement.scoring import points

        answers = {}
        for item in items:
            code = item["linkId"]
            for form_item in _flatten(form):
                if form_item.link_id == item["linkId"] and form_item.code:
                    code = form_item.code
            answers[code] = points(item["answer"][0]) if item.get("answer") else None
        total, _complete = score_answers(instrument, answers)
        if total is not None:
            total_link = next((f.link_id for f in _flatten(form) if f.code == instrument.total), instrument.total)
            items = [*items, {"linkId": total_link, "text": "Total score", "answer": [{"valueInteger": total}]}]
    canonical = str(questionnaire.get("url") or "")
    version = questionnaire.get("version")
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
        "questionnaire": f"{canonical}|{version}" if canonical and isinstance(version, str) else canonical,
        "status": "completed",
        "subject": {"reference": f"Patient/{ctx.patient_id}"},
        "authored": timezone.now().isoformat(timespec="seconds"),
        "item": items,
    }
    if ctx.grant.fhir_user:
        response["author"] = {"reference": _reference(ctx.grant.fhir_user, ctx.grant.fhir_base_url)}
    if ctx.grant.encounter:
        response["encounter"] = {"reference": f"Encounter/{ctx.grant.encounter}"}
    return response, total


def _flatten(form: list[FormItem]) -> list[FormItem]:
    out = []
    for item in form:
        out.append(item)
        out.extend(_flatten(item.children))
    return out


def score_observation(stored: StoredResponse, response: dict[str, Any], remote_response_id: str) -> dict[str, Any]:
    """The total score as an Observation (category survey), derived from the QuestionnaireResponse."""
    instrument = INSTRUMENTS[stored.instrument]
    observation = {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"{response['identifier']['value']}-total"}],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "survey", "display": "Survey"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": instrument.total}], "text": str(instrument.title)},
        "subject": response["subject"],
        "effectiveDateTime": response["authored"],
        "valueInteger": stored.score,
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{remote_response_id}"}],
    }  # fmt: skip
    if "encounter" in response:
        observation["encounter"] = response["encounter"]
    return observation


def submit_response(*, ctx: Context, questionnaire: dict[str, Any], title: str, response: dict[str, Any],
                    total: int | None, instrument: Instrument | None) -> StoredResponse:  # fmt: skip
    """Keep the response in CareLaunch first (never lost), then send it when the grant may write."""
    band = instrument.band(total) if instrument is not None else None
    may_write = scopes.can_create(ctx.grant.granted_scope_list, "QuestionnaireResponse")
    stored = StoredResponse.objects.create(
        tenant=ctx.tenant,
        patient=ctx.patient_ref,
        patient_id=ctx.patient_id,
        grant_ref=ctx.grant.pk,
        author_fhir_user=ctx.grant.fhir_user[:500],
        questionnaire_url=str(response.get("questionnaire") or "")[:500],
        questionnaire_title=title[:300],
        instrument=instrument.key if instrument and total is not None else "",
        score=total,
        band=band.code if band else "",
        resource=json.dumps(response, ensure_ascii=False),
        status=StoredResponse.Status.PENDING if may_write else StoredResponse.Status.NOT_SENT,
        not_sent_reason="" if may_write else "no_write_scope",
    )
    audit.record(
        action="engagement.questionnaire.submit",
        actor=ctx.actor,
        tenant=ctx.tenant,
        target=f"StoredResponse/{stored.pk}",
        patient=f"Patient/{ctx.patient_id}",
        detail={"questionnaire": stored.questionnaire_url, "score": total, "will_send": may_write},
    )
    if may_write:
        deliver(tenant_id=ctx.tenant.pk, stored_id=stored.pk, grant=ctx.grant)
        stored.refresh_from_db()
    return stored


def backoff(attempts: int) -> int:
    """Exponential backoff with jitter, capped at an hour (the broker's visibility timeout is 2 h)."""
    base = min(MAX_COUNTDOWN, BASE_COUNTDOWN * 2 ** max(0, attempts - 1))
    return min(MAX_COUNTDOWN, int(base + random.uniform(0, base / 4)))  # noqa: S311 - jitter


def deliver(*, tenant_id: int, stored_id: int, grant: TokenGrant | None = None, force: bool = False) -> str:
    """Send one stored response (and its score Observation) to the EHR. Idempotent: parts already sent are not
    sent again. Returns the new status. No database transaction is held during the HTTP calls."""
    stored = StoredResponse.objects.filter(tenant_id=tenant_id, pk=stored_id).first()
    if stored is None or stored.status in (StoredResponse.Status.SENT, StoredResponse.Status.NOT_SENT):
        return stored.status if stored else "missing"
    now = timezone.now()
    if not force and stored.next_attempt_at and stored.next_attempt_at > now + timedelta(seconds=2):
        return "not_due"
    if grant is None:
        grant = TokenGrant.objects.filter(tenant_id=tenant_id, pk=stored.grant_ref).first()
    if grant is None or not grant.is_active:
        _mark(stored, status=StoredResponse.Status.FAILED, last_error="grant_ended")
        return stored.status
    response = json.loads(stored.resource)
    writer = FhirWriter(grant)
    try:
        if not stored.remote_response_id:
            remote_id = writer.create(response)
            _mark(stored, remote_response_id=remote_id)
        if stored.score is not None and stored.instrument and not stored.remote_observation_id:
            if scopes.can_create(grant.granted_scope_list, "Observation"):
                remote_obs = writer.create(score_observation(stored, response, stored.remote_response_id))
                _mark(stored, remote_observation_id=remote_obs)
            elif not stored.observation_skipped:
                _mark(stored, observation_skipped=True)
    except NeedsRelaunch:
        _mark(stored, status=StoredResponse.Status.FAILED, last_error="grant_ended", attempts=stored.attempts + 1)
        return stored.status
    except WriteError as exc:
        attempts = stored.attempts + 1
        error = f"{exc.code}:{exc.status}"[:100]
        if attempts >= MAX_ATTEMPTS:
            _mark(
                stored, status=StoredResponse.Status.FAILED, last_error=error, attempts=attempts, next_attempt_at=None
            )
            return stored.status
        countdown = backoff(attempts)
        _mark(stored, status=StoredResponse.Status.RETRYING, last_error=error, attempts=attempts,
              next_attempt_at=now + timedelta(seconds=countdown))  # fmt: skip
        logger.info("questionnaire response %s not sent (%s); retry in %ss", stored.pk, error, countdown)
        _schedule(tenant_id, stored.pk, countdown)
        return stored.status
    _mark(stored, status=StoredResponse.Status.SENT, sent_at=timezone.now(), last_error="", next_attempt_at=None,
          attempts=stored.attempts + 1)  # fmt: skip
    fhir_reads.invalidate(grant, ["responses", "observations"])
    audit.record(
        action="engagement.questionnaire.sent",
        tenant=tenant_id,
        target=f"QuestionnaireResponse/{stored.remote_response_id}",
        patient=f"Patient/{stored.patient_id}",
        detail={"stored": stored.pk, "observation": stored.remote_observation_id, "attempts": stored.attempts},
    )
    return stored.status


def _mark(stored: StoredResponse, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(stored, name, value)
    StoredResponse.objects.filter(pk=stored.pk, tenant_id=stored.tenant_id).update(**fields)


def _schedule(tenant_id: int, stored_id: int, countdown: int) -> None:
    from apps.engagement.tasks import deliver_response

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        # In-process mode (embedded demo, tests without Redis) ignores countdowns: the periodic sweep
        # (retry_due_responses) and the status page pick the response up once it is due.
        return
    transaction.on_commit(lambda: deliver_response.apply_async((tenant_id, stored_id), countdown=countdown))


def retry_now(*, ctx: Context, stored: StoredResponse) -> str:
    """The user pressed "Try again" on a response that failed or is waiting."""
    if stored.status not in (StoredResponse.Status.RETRYING, StoredResponse.Status.FAILED):
        return stored.status
    if stored.status == StoredResponse.Status.FAILED and stored.last_error == "grant_ended":
        # Send with the current session's grant instead of the one that ended.
        _mark(stored, grant_ref=ctx.grant.pk)
    if stored.attempts >= MAX_ATTEMPTS:
        _mark(stored, attempts=MAX_ATTEMPTS - 1)
    audit.record(action="engagement.questionnaire.retry", actor=ctx.actor, tenant=ctx.tenant,
                 target=f"StoredResponse/{stored.pk}", patient=f"Patient/{ctx.patient_id}")  # fmt: skip
    return deliver(tenant_id=ctx.tenant.pk, stored_id=stored.pk, grant=ctx.grant, force=True)


def due_responses() -> list[tuple[int, int]]:
    """(tenant id, response id) of responses whose retry is due — an explicit cross-tenant read for the sweep."""
    from apps.core.tenancy import all_tenants

    with all_tenants():
        return list(
            StoredResponse.objects.filter(
                status=StoredResponse.Status.RETRYING, next_attempt_at__lte=timezone.now()
            ).values_list("tenant_id", "pk")[:500]
        )
