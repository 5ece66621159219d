"""The pages after a launch: clinician summary, patient record, measurement and lab detail, questionnaires,
decision-support dismissal, the per-grant stylesheet.

Every page is reached through the SMART session handle in the path (`/t/<slug>/app/<handle>/e/...`, see
apps.smart.views for why: EHR iframes refuse cookies). The handle is looked up in the tenant named by the URL,
so another tenant's handle — or any unknown one — is a 404. POSTs carry no CSRF cookie for the same reason:
the unguessable handle plays the CSRF token and a cross-site Origin / Sec-Fetch-Site is refused.
Language: `?lang=en|zh-hant` (cookies may not work inside the iframe), carried on every link.
"""

from __future__ import annotations

import json
import re
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from apps.engagement import codes, fhir_reads, selectors, services, style
from apps.engagement.codes import LAB_KEYS
from apps.engagement.context import Context, Relaunch, context_for
from apps.engagement.models import CardDismissal, StoredResponse
from apps.engagement.questionnaires import definitions, forms
from apps.engagement.scoring import INSTRUMENTS, instrument_for
from apps.smart.errors import LaunchError
from apps.smart.fhir_client import NeedsRelaunch

LANGS = {"en", "zh-hant"}
_QID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def _csp(connection: Any) -> str:
    origins = " ".join((getattr(connection, "frame_ancestors", "") or "").split()) or "'none'"
    return settings.CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {origins}")


def _harden(response: HttpResponse, ctx: Context | None) -> HttpResponse:
    response["Content-Security-Policy"] = _csp(ctx.grant.connection if ctx else None)
    response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, no_store=True, private=True)
    return response


def _relaunch(request: HttpRequest, ctx: Context | None = None) -> HttpResponse:
    from apps.smart.views import failure

    return failure(request, LaunchError("needs_relaunch"), connection=ctx.grant.connection if ctx else None)


def _cross_site(request: HttpRequest) -> bool:
    site = request.META.get("HTTP_SEC_FETCH_SITE", "")
    if site and site not in ("same-origin", "none"):
        return True
    origin = request.META.get("HTTP_ORIGIN", "")
    if origin in ("", "null"):
        # Browsers send `Origin: null` under our `Referrer-Policy: no-referrer`; Sec-Fetch-Site (checked above)
        # and the unguessable handle in the path decide then.
        return False
    allowed = {urlsplit(settings.PUBLIC_URL)._replace(path="", query="", fragment="").geturl().rstrip("/"),
               f"{request.scheme}://{request.get_host()}"}  # fmt: skip
    return origin.rstrip("/") not in allowed


def page(name: str, *, clinician_only: bool = False, patient_only: bool = False, methods=("GET",)):
    """Resolve the session, apply the language, refuse the wrong role (404), harden the response."""

    def decorator(view):
        @csrf_exempt
        @xframe_options_exempt
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request: HttpRequest, tenant_slug: str, handle: str, **kwargs: Any) -> HttpResponse:
            lang = request.GET.get("lang", "")
            if lang in LANGS:
                translation.activate(lang)
                request.LANGUAGE_CODE = lang
            if request.method == "POST" and _cross_site(request):
                return HttpResponse(status=403)
            try:
                ctx = context_for(request, handle)
            except Relaunch:
                return _relaunch(request)
            if (clinician_only and not ctx.is_clinician) or (patient_only and ctx.is_clinician):
                raise Http404("Not for this role")
            request.phi_response = True
            request.engagement = ctx
            request.engagement_lang = lang if lang in LANGS else ""
            try:
                response = view(request, ctx, **kwargs)
            except NeedsRelaunch:
                return _relaunch(request, ctx)
            return _harden(response, ctx)

        return wrapper

    return decorator


def _render(request: HttpRequest, ctx: Context, template: str, context: dict[str, Any], status: int = 200):
    base = {
        "ctx": ctx,
        "tenant": ctx.tenant,
        "grant": ctx.grant,
        "has_style": bool(ctx.grant.smart_style_url),
        "role": ctx.role,
        "lang_param": request.engagement_lang,
        "now": timezone.now(),
    }
    return render(request, template, {**base, **context}, status=status)


def _url(ctx: Context, request: HttpRequest, name: str, **kwargs: Any) -> str:
    url = reverse(f"engagement:{name}", kwargs={"tenant_slug": ctx.tenant.slug, "handle": ctx.handle, **kwargs})
    lang = getattr(request, "engagement_lang", "")
    return f"{url}?lang={lang}" if lang else url


# --- pages -------------------------------------------------------------------------------------------------------


@page("home")
def home(request: HttpRequest, ctx: Context) -> HttpResponse:
    return HttpResponseRedirect(_url(ctx, request, "summary" if ctx.is_clinician else "record"))


def _patient_page(request: HttpRequest, ctx: Context, template: str, page_name: str) -> HttpResponse:
    data = selectors.summary(ctx)
    services.record_view(ctx, page=page_name, detail={"sections": sorted(k for k, s in data.sections.items()
                                                                        if s.ok)})  # fmt: skip
    return _render(request, ctx, template, {
        "summary": data, "s": data.sections, "banner": data.banner if ctx.show_banner else None,
        "reasons": CardDismissal.Reason.choices,
        "meaning": codes.MEANING, "unit_meaning": codes.UNIT_MEANING, "page_name": page_name,
        "stored": selectors.stored_responses(ctx, limit=5),
    })  # fmt: skip


@page("summary", clinician_only=True)
def summary(request: HttpRequest, ctx: Context) -> HttpResponse:
    return _patient_page(request, ctx, "engagement/summary.html", "summary")


@page("record", patient_only=True)
def record(request: HttpRequest, ctx: Context) -> HttpResponse:
    return _patient_page(request, ctx, "engagement/record.html", "record")


def _banner(ctx: Context) -> dict | None:
    if not ctx.show_banner:
        return None
    reads = fhir_reads.read(ctx.grant, ["patient", "allergies"])
    return selectors.banner(reads.data("patient"), reads.data("allergies"), timezone.localdate())


@page("vitals")
def vitals(request: HttpRequest, ctx: Context, kind: str) -> HttpResponse:
    if kind not in selectors.VITAL_PAGES:
        raise Http404("Unknown measurement")
    return _detail(request, ctx, kind, "vitals")


@page("lab")
def lab(request: HttpRequest, ctx: Context, key: str) -> HttpResponse:
    if key not in LAB_KEYS:
        raise Http404("Unknown test")
    return _detail(request, ctx, key, "lab")


def _detail(request: HttpRequest, ctx: Context, key: str, kind: str) -> HttpResponse:
    detail, _reads = selectors.measurement_detail(ctx, key, request.GET)
    services.record_view(ctx, page=f"{kind}:{key}", detail={"rows": detail.total})
    meaning_key = "bp" if key == "bp" else key
    return _render(request, ctx, "engagement/detail.html", {
        "d": detail, "banner": _banner(ctx), "kind": kind, "meaning": codes.MEANING.get(meaning_key, ""),
        "unit_meaning": codes.UNIT_MEANING.get(detail.unit_key, ""), "flags": selectors.FLAGS,
        "vital_pages": [(k, selectors.analyte_label("bp" if k == "bp" else k)) for k in selectors.VITAL_PAGES],
        "lab_pages": [(k, selectors.analyte_label(k)) for k in LAB_KEYS], "page_name": f"{kind}:{key}",
    })  # fmt: skip


@page("labs")
def labs(request: HttpRequest, ctx: Context) -> HttpResponse:
    rows, query, status, total, page_no, pages = selectors.all_labs(ctx, request.GET)
    services.record_view(ctx, page="labs", detail={"rows": total})
    return _render(request, ctx, "engagement/labs.html", {
        "rows": rows, "query": query, "status": status, "total": total, "page": page_no, "pages": pages,
        "q": (request.GET.get("q", "") or "")[:60], "banner": _banner(ctx), "flags": selectors.FLAGS,
        "page_name": "labs",
    })  # fmt: skip


@page("scores")
def scores(request: HttpRequest, ctx: Context) -> HttpResponse:
    reads = fhir_reads.read(ctx.grant, ["responses", "observations"])
    score_list = selectors.scores(reads)
    services.record_view(ctx, page="scores")
    by = selectors.score_rows(score_list)
    charts_ = {key: selectors.score_trend(score_list or [], key) for key in INSTRUMENTS}
    return _render(request, ctx, "engagement/scores.html", {
        "available": score_list is not None, "by": by, "charts": charts_, "instruments": INSTRUMENTS,
        "banner": _banner(ctx), "stored": selectors.stored_responses(ctx), "page_name": "scores",
    })  # fmt: skip


@page("dismiss", clinician_only=True, methods=("POST",))
def dismiss(request: HttpRequest, ctx: Context) -> HttpResponse:
    card_uuid = request.POST.get("card", "")[:64]
    reason = request.POST.get("reason", "")
    comment = request.POST.get("comment", "")[:500]
    reads = fhir_reads.read(ctx.grant, selectors.SUMMARY_READS)
    cards, _not_evaluated, _count = selectors.cards_for(ctx, reads)
    card = next((c for c in cards if c["uuid"] == card_uuid), None)
    if card is None or reason not in CardDismissal.Reason.values:
        return _render(request, ctx, "engagement/message.html", {
            "title": _("The card could not be dismissed"),
            "message": _("Choose a reason. If the patient's data changed, the card may have changed too: go back "
                         "to the summary and try again."),
            "back": _url(ctx, request, "summary"),
        }, status=400)  # fmt: skip
    services.dismiss_card(ctx=ctx, card=card, reason=reason, comment=comment)
    return HttpResponseRedirect(_url(ctx, request, "summary") + "#decision-support")


# --- questionnaires ----------------------------------------------------------------------------------------------


def _available_questionnaires(ctx: Context) -> tuple[list[dict[str, Any]], str]:
    """Built-in PHQ-9 and GAD-7, then the EHR's own (the EHR's PHQ-9/GAD-7 are served by the built-ins)."""
    reads = fhir_reads.read(ctx.grant, ["questionnaires"])
    out = [
        {"slug": key, "title": str(instrument.title), "source": "builtin"} for key, instrument in INSTRUMENTS.items()
    ]
    for q in reads.data("questionnaires") or []:
        qid = q.get("id")
        codes_ = [str(c.get("code")) for c in q.get("code") or [] if isinstance(c, dict)]
        if not isinstance(qid, str) or not _QID.match(qid) or instrument_for(q.get("url"), codes_):
            continue
        out.append({"slug": f"q-{qid}", "title": forms.localized(q, "title") or forms.localized(q, "name") or qid,
                    "source": "ehr", "resource": q})  # fmt: skip
    return out, reads["questionnaires"].status


@page("questionnaires")
def questionnaires(request: HttpRequest, ctx: Context) -> HttpResponse:
    available, status = _available_questionnaires(ctx)
    services.record_view(ctx, page="questionnaires")
    return _render(request, ctx, "engagement/questionnaires.html", {
        "available": available, "ehr_status": status, "stored": selectors.stored_responses(ctx),
        "can_write": _can_write(ctx), "page_name": "questionnaires", "banner": _banner(ctx),
    })  # fmt: skip


def _can_write(ctx: Context) -> bool:
    from apps.engagement import scopes

    return scopes.can_create(ctx.grant.granted_scope_list, "QuestionnaireResponse")


@page("questionnaire", methods=("GET", "POST"))
def questionnaire(request: HttpRequest, ctx: Context, slug: str) -> HttpResponse:
    if slug in definitions.BUILT_IN:
        instrument = definitions.BUILT_IN[slug]
        resource = definitions.questionnaire(instrument)
    else:
        available, _status = _available_questionnaires(ctx)
        match = next((q for q in available if q["slug"] == slug and q["source"] == "ehr"), None)
        if match is None:
            raise Http404("No such questionnaire")
        resource = match["resource"]
        instrument = None
    title = forms.localized(resource, "title") or slug
    form = forms.build_form(resource)
    errors: list = []
    if request.method == "POST":
        items, valid = forms.read_answers(form, request.POST)
        errors = forms.errors(form)
        if valid:
            response, total = services.build_response(ctx=ctx, questionnaire=resource, items=items, form=form,
                                                      instrument=instrument)  # fmt: skip
            stored = services.submit_response(ctx=ctx, questionnaire=resource, title=title, response=response,
                                              total=total, instrument=instrument)  # fmt: skip
            return HttpResponseRedirect(_url(ctx, request, "response", pk=stored.pk))
    services.record_view(ctx, page=f"questionnaire:{slug}")
    return _render(request, ctx, "engagement/questionnaire.html", {
        "title": title, "description": forms.localized(resource, "description"), "form": form, "errors": errors,
        "slug": slug, "can_write": _can_write(ctx), "page_name": "questionnaire", "banner": _banner(ctx),
        "status": 400 if errors else 200,
    }, status=400 if errors else 200)  # fmt: skip


@page("response", methods=("GET", "POST"))
def response_status(request: HttpRequest, ctx: Context, pk: int) -> HttpResponse:
    stored = selectors.get_stored_response(ctx, pk)
    if stored is None:
        raise Http404("No such response")
    if request.method == "POST":
        services.retry_now(ctx=ctx, stored=stored)
        return HttpResponseRedirect(_url(ctx, request, "response", pk=stored.pk))
    if (
        stored.status == StoredResponse.Status.RETRYING
        and stored.next_attempt_at
        and (stored.next_attempt_at <= timezone.now())
    ):
        # Embedded mode has no worker: a due retry runs when someone looks.
        services.deliver(tenant_id=ctx.tenant.pk, stored_id=stored.pk, grant=ctx.grant)
        stored.refresh_from_db()
    services.record_view(ctx, page="response", detail={"stored": stored.pk})
    answers = _flat_answers(json.loads(stored.resource).get("item", []))
    return _render(request, ctx, "engagement/response.html", {
        "stored": stored, "answers": answers, "page_name": "response", "banner": _banner(ctx),
        "band_label": _band_label(stored),
    })  # fmt: skip


def _flat_answers(items: list, depth: int = 0) -> list:
    out = []
    for item in items if isinstance(items, list) and depth < 6 else []:
        if isinstance(item, dict):
            if item.get("answer"):
                out.append(item)
            out.extend(_flat_answers(item.get("item") or [], depth + 1))
    return out


def _band_label(stored: StoredResponse) -> str:
    from apps.engagement.scoring import band_label

    return str(band_label(stored.instrument, stored.band)) if stored.instrument else ""


# --- style -------------------------------------------------------------------------------------------------------


@require_GET
@xframe_options_exempt
def style_css(request: HttpRequest, tenant_slug: str, handle: str) -> HttpResponse:
    try:
        ctx = context_for(request, handle)
    except Relaunch:
        raise Http404("No such session") from None
    body = style.css(style.for_grant(ctx.grant))
    response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return _harden(response, ctx)
