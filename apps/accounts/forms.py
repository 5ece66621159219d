from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from apps.accounts import lockout
from apps.audit import services as audit


class LockoutAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _(
            "Too many failed sign-in attempts. This account is locked for a while; try again later "
            "or ask your administrator."
        ),
    }

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        if username and lockout.is_locked(username):
            audit.record(action="accounts.login", target=f"user:{username}", outcome="locked")
            raise forms.ValidationError(self.error_messages["locked"], code="locked")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if username:
                lockout.register_failure(username)
                audit.record(action="accounts.login", target=f"user:{username}", outcome="failure")
            raise
        lockout.clear_failures(username)
        return cleaned
