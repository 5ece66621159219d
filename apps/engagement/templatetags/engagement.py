from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

register = template.Library()


@register.simple_tag(takes_context=True)
def eurl(context, name: str, **kwargs) -> str:
    """An engagement URL for this session, keeping the chosen language."""
    ctx = context["ctx"]
    url = reverse(f"engagement:{name}", kwargs={"tenant_slug": ctx.tenant.slug, "handle": ctx.handle, **kwargs})
    lang = context.get("lang_param")
    return f"{url}?lang={lang}" if lang else url


@register.simple_tag(takes_context=True)
def langurl(context, lang: str) -> str:
    request = context["request"]
    params = request.GET.copy()
    params["lang"] = lang
    return f"{request.path}?{params.urlencode()}"


@register.simple_tag(takes_context=True)
def qs(context, **changes) -> str:
    """The current query string with some parameters changed (page reset unless given)."""
    request = context["request"]
    params = {k: v for k, v in request.GET.items() if k in ("sort", "flag", "from", "to", "q", "page", "lang")}
    params.pop("page", None)
    for key, value in changes.items():
        if value in ("", None):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params)


@register.filter
def localdate(value, fmt: str = "DATE_FORMAT") -> str:
    if not value:
        return ""
    return date_format(timezone.localtime(value), fmt)


@register.filter
def localdatetime(value) -> str:
    if not value:
        return ""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None
