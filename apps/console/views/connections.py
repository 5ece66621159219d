"""Add, edit and test EHR connections; see what to register at the EHR."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.console.access import member_required
from apps.console.forms import ConnectionForm
from apps.tenants import selectors, services


def _save(request: HttpRequest, form: ConnectionForm, connection=None):
    if not form.is_valid():
        return None
    try:
        return services.save_connection(
            tenant=request.tenant, data=form.cleaned_data, actor=request.user, connection=connection
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None


@require_http_methods(["GET", "POST"])
@member_required
def connection_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    form = ConnectionForm(request.POST or None, initial=ConnectionForm.initial_for(None))
    if request.method == "POST":
        connection = _save(request, form)
        if connection is not None:
            messages.success(request, _("Connection saved. Test it next."))
            return redirect("console:connection", tenant_slug=tenant_slug, pk=connection.pk)
    return render(request, "console/connection_form.html", {"form": form, "tenant": request.tenant})


@require_http_methods(["GET", "POST"])
@member_required
def connection_edit(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    connection = selectors.get_connection_for_member(request.user, request.tenant, pk)
    form = ConnectionForm(request.POST or None, initial=ConnectionForm.initial_for(connection))
    if request.method == "POST":
        saved = _save(request, form, connection)
        if saved is not None:
            messages.success(request, _("Connection saved."))
            return redirect("console:connection", tenant_slug=tenant_slug, pk=saved.pk)
    return render(
        request,
        "console/connection_form.html",
        {"form": form, "tenant": request.tenant, "connection": connection},
    )


def _detail(request: HttpRequest, connection, report=None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "console/connection_detail.html",
        {
            "tenant": request.tenant,
            "membership": request.membership,
            "connection": connection,
            "registration": selectors.registration_values(request.tenant, connection),
            "report": report,
        },
        status=status,
    )


@require_http_methods(["GET"])
@member_required
def connection_detail(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    return _detail(request, selectors.get_connection_for_member(request.user, request.tenant, pk))


@require_POST
@member_required
def connection_test(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    connection = selectors.get_connection_for_member(request.user, request.tenant, pk)
    report = services.test_connection(connection=connection, actor=request.user)
    return _detail(request, connection, report)
