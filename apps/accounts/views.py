from __future__ import annotations

from django.contrib.auth import views as auth_views

from apps.accounts.forms import LockoutAuthenticationForm


class LoginView(auth_views.LoginView):
    """Username/password sign-in; Django's login() gives the session a new id."""

    template_name = "accounts/login.html"
    authentication_form = LockoutAuthenticationForm
    redirect_authenticated_user = True
