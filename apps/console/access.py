"""Who may see and change what in the console. Outsiders get 404, viewers cannot POST."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from apps.tenants import selectors


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in members of the URL's tenant only (404 for anyone else); POST needs owner or admin."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, tenant_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
        membership = selectors.get_membership_or_404(request.user, request.tenant)
        if request.method not in ("GET", "HEAD") and not membership.can_edit:
            raise PermissionDenied
        request.membership = membership
        return view(request, tenant_slug, *args, **kwargs)

    return wrapper
