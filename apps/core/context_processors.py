from django.conf import settings
from django.http import HttpRequest


def carelaunch(request: HttpRequest) -> dict:
    return {
        "SANDBOX_ENABLED": settings.SANDBOX_ENABLED,
        "OIDC_ENABLED": settings.OIDC_ENABLED,
        "current_tenant": getattr(request, "tenant", None),
    }
