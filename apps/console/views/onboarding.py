"""Sign-up, the list of my tenants, creating a tenant, accepting an invitation."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.audit import services as audit
from apps.console.forms import SignUpForm, TenantForm
from apps.tenants import selectors, services


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("console:dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        audit.record(action="accounts.signup", actor=user, target=f"user:{user.pk}")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_safe_next(request) or reverse("console:dashboard"))
    return render(
        request,
        "console/signup.html",
        {"form": form, "next": _safe_next(request) or "", "OIDC_ENABLED": settings.OIDC_ENABLED},
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "console/dashboard.html", {"memberships": selectors.memberships_for_user(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def create_tenant(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        tenant = services.create_tenant(
            slug=form.cleaned_data["slug"],
            name_en=form.cleaned_data["name_en"],
            name_zh_hant=form.cleaned_data["name_zh_hant"],
            owner=request.user,
        )
        messages.success(request, _("Tenant created. It stays pending until our staff approve it."))
        return redirect("console:tenant", tenant_slug=tenant.slug)
    return render(request, "console/tenant_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. Anyone may look; joining needs a signed-in account (sign in or sign up first)."""
    invite = services.get_open_invitation(token)
    if invite is None:
        return render(request, "console/invitation.html", {"invalid": True}, status=404)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('accounts:login')}?next={request.path}")
        membership = services.accept_invitation(token=token, user=request.user)
        if membership is None:
            return render(request, "console/invitation.html", {"invalid": True}, status=404)
        messages.success(request, _("You have joined %(tenant)s.") % {"tenant": invite.tenant.display_name})
        return redirect("console:tenant", tenant_slug=invite.tenant.slug)
    return render(request, "console/invitation.html", {"invite": invite})
