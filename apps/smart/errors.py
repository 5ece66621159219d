"""Launch failures: a stable code (audit, tests), a title and a message in the user's language."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# code → (HTTP status, title, message). Messages say what happened and what to do, never internals.
FAILURES: dict[str, tuple[int, Any, Any]] = {
    "unknown_iss": (
        400,
        _("This EHR is not connected to CareLaunch"),
        _(
            "The launch came from a FHIR server that no active hospital has registered with CareLaunch. "
            "Ask your hospital's IT team to check the EHR connection."
        ),
    ),
    "missing_parameters": (
        400,
        _("The launch request is incomplete"),
        _("The EHR did not send the parameters a SMART launch needs (iss and launch). Start again from the EHR."),
    ),
    "launch_disabled": (
        403,
        _("This kind of launch is not enabled"),
        _("Your hospital has not enabled this way of opening CareLaunch. Ask its IT team."),
    ),
    "tenant_inactive": (
        403,
        _("This hospital is not active on CareLaunch"),
        _("The hospital's CareLaunch account is not active at the moment. Ask its IT team."),
    ),
    "discovery_failed": (
        502,
        _("The EHR's sign-in service could not be reached"),
        _("CareLaunch could not read the EHR's SMART configuration. Try again in a few minutes."),
    ),
    "rate_limited": (
        429,
        _("Too many attempts"),
        _("There were too many launch attempts from your network. Wait a minute and try again."),
    ),
    "state_unknown": (
        400,
        _("This sign-in response is not recognised"),
        _("CareLaunch did not start this sign-in, or it was already cleaned up. Start again from the EHR."),
    ),
    "state_used": (
        400,
        _("This sign-in response was already used"),
        _("Each sign-in response can be used only once. Start again from the EHR."),
    ),
    "state_expired": (
        400,
        _("This sign-in took too long"),
        _("The sign-in expired before it was completed. Start again from the EHR."),
    ),
    "state_other_browser": (
        403,
        _("This sign-in was started in another browser"),
        _("For your safety a sign-in must finish in the browser that started it. Start again from the EHR."),
    ),
    "wrong_redirect": (
        400,
        _("The sign-in response arrived at the wrong address"),
        _(
            "The answer came back for a different EHR connection than the one the sign-in was started for. "
            "It was refused to protect you. Start again from the EHR."
        ),
    ),
    "issuer_mismatch": (
        400,
        _("The sign-in response came from an unexpected server"),
        _("The authorization server that answered is not the one this sign-in was sent to. It was refused."),
    ),
    "ehr_error": (
        400,
        _("The EHR did not authorise CareLaunch"),
        _("The EHR answered with an error: %(error)s. Start again from the EHR, or ask your hospital's IT team."),
    ),
    "access_denied": (
        403,
        _("Access was not granted"),
        _("You (or the EHR) declined to let CareLaunch access your record. Nothing was shared."),
    ),
    "token_error": (
        502,
        _("The EHR refused to issue an access token"),
        _("The EHR's token service answered with an error (%(error)s). Start again from the EHR."),
    ),
    "token_response_invalid": (
        502,
        _("The EHR sent an unusable token response"),
        _("The EHR's token response is missing required parts. Ask your hospital's IT team."),
    ),
    "id_token_invalid": (
        502,
        _("The EHR's identity token was rejected"),
        _("CareLaunch could not verify who you are from the EHR's answer, so it stopped. Start again from the EHR."),
    ),
    "session_expired": (
        403,
        _("Your CareLaunch session has ended"),
        _("Open CareLaunch again from your EHR or patient portal."),
    ),
    "needs_relaunch": (
        401,
        _("Please launch CareLaunch again"),
        _("Your access to the EHR has ended. Open CareLaunch again from your EHR or patient portal."),
    ),
}


class LaunchError(Exception):
    """A launch step failed; `code` is one of FAILURES, `detail` goes to the audit trail (no secrets)."""

    def __init__(self, code: str, *, detail: dict[str, Any] | None = None, error: str = "") -> None:
        if code not in FAILURES:
            raise ValueError(code)
        self.code = code
        self.detail = detail or {}
        self.error = error
        super().__init__(code)

    @property
    def status(self) -> int:
        return FAILURES[self.code][0]

    @property
    def title(self) -> str:
        return str(FAILURES[self.code][1])

    @property
    def message(self) -> str:
        text = str(FAILURES[self.code][2])
        return text % {"error": self.error or "?"} if "%(error)s" in text else text
