"""Members and invitations of a tenant."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.console.access import member_required
from apps.console.forms import InviteForm
from apps.tenants import selectors, services
from apps.tenants.models import Role


@require_http_methods(["GET", "POST"])
@member_required
def members(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_member(
                tenant=request.tenant,
                inviter=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                membership=request.membership,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]})
            return redirect("console:members", tenant_slug=tenant_slug)
    return render(
        request,
        "console/members.html",
        {
            "tenant": request.tenant,
            "membership": request.membership,
            "members": selectors.members_for_tenant(request.tenant),
            "invitations": selectors.open_invitations_for_tenant(request.tenant),
            "form": form,
            "roles": Role.choices,
        },
    )


@require_POST
@member_required
def revoke_invitation(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    if not services.revoke_invitation(
        tenant=request.tenant, invitation_id=pk, actor=request.user, membership=request.membership
    ):
        raise Http404("No such invitation")
    messages.success(request, _("Invitation revoked."))
    return redirect("console:members", tenant_slug=tenant_slug)


def _first_message(error: ValidationError) -> str:
    return error.messages[0] if error.messages else str(error)


@require_POST
@member_required
def change_role(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    try:
        changed = services.change_member_role(
            tenant=request.tenant,
            member_id=pk,
            role=request.POST.get("role", ""),
            actor=request.user,
            membership=request.membership,
        )
    except ValidationError as exc:
        messages.error(request, _first_message(exc))
    else:
        if changed is None:
            raise Http404("No such member")
        messages.success(request, _("Role of %(user)s changed.") % {"user": changed.user.get_username()})
    return redirect("console:members", tenant_slug=tenant_slug)


@require_POST
@member_required
def remove_member(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    leaving = request.membership.pk == pk
    try:
        removed = services.remove_member(
            tenant=request.tenant, member_id=pk, actor=request.user, membership=request.membership
        )
    except ValidationError as exc:
        messages.error(request, _first_message(exc))
        return redirect("console:members", tenant_slug=tenant_slug)
    if not removed:
        raise Http404("No such member")
    if leaving:
        messages.success(request, _("You left %(tenant)s.") % {"tenant": request.tenant.display_name})
        return redirect(reverse("console:dashboard"))
    messages.success(request, _("Member removed."))
    return redirect("console:members", tenant_slug=tenant_slug)
