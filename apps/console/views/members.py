"""Members and invitations of a tenant."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.console.access import member_required
from apps.console.forms import InviteForm
from apps.tenants import selectors, services


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
