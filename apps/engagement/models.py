"""Engagement state kept in CareLaunch: dismissed decision-support cards and questionnaire responses
(stored here first, then written to the EHR when the grant allows)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.crypto import EncryptedTextField
from apps.core.models import TenantOwnedModel


class CardDismissal(TenantOwnedModel):
    """A clinician dismissed one card: per tenant + patient + rule + the data that triggered it
    (the card's fingerprint), so the same rule fires again on new data."""

    class Reason(models.TextChoices):
        NOT_APPLICABLE = "not_applicable", _("Not applicable to this patient")
        ALREADY_ADDRESSED = "already_addressed", _("Already addressed")
        PATIENT_DECLINED = "patient_declined", _("Patient declined")
        DATA_ERROR = "data_error", _("The data is wrong")
        OTHER = "other", _("Other")

    patient = models.CharField(max_length=255)  # FHIR base + "Patient/<id>": ids are unique per EHR only
    rule = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    reason = models.CharField(max_length=32, choices=Reason.choices)
    comment = models.CharField(max_length=500, blank=True)
    dismissed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    fhir_user = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "patient", "rule", "fingerprint"], name="engagement_dismissal_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} dismissed ({self.reason})"


class StoredResponse(TenantOwnedModel):
    """A questionnaire response, kept locally before (and whether or not) it reaches the EHR."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Sending to your hospital")
        SENT = "sent", _("Sent to your hospital's record")
        NOT_SENT = "not_sent", _("Kept in CareLaunch only")
        RETRYING = "retrying", _("Could not be sent yet; trying again")
        FAILED = "failed", _("Could not be sent")

    patient = models.CharField(max_length=255)  # FHIR base + "Patient/<id>"
    patient_id = models.CharField(max_length=64)
    # The smart.TokenGrant it was submitted under (an id, not a FK: the grant may be purged, the response stays).
    grant_ref = models.BigIntegerField(null=True, blank=True)
    author_fhir_user = models.CharField(max_length=500, blank=True)
    questionnaire_url = models.CharField(max_length=500)
    questionnaire_title = models.CharField(max_length=300, blank=True)
    instrument = models.CharField(max_length=16, blank=True)  # phq9 | gad7 | ""
    score = models.IntegerField(null=True, blank=True)
    band = models.CharField(max_length=32, blank=True)
    resource = EncryptedTextField()  # the QuestionnaireResponse JSON (answers are health data)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    not_sent_reason = models.CharField(max_length=32, blank=True)  # no_write_scope | grant_ended | ...
    remote_response_id = models.CharField(max_length=64, blank=True)
    remote_observation_id = models.CharField(max_length=64, blank=True)
    observation_skipped = models.BooleanField(default=False)  # no Observation write scope
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=100, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "patient", "created_at"], name="engagement_resp_tenant_patient"),
            models.Index(fields=["status", "next_attempt_at"], name="engagement_resp_status_next"),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} ({self.status})"
