from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmartConfig(AppConfig):
    """The SMART App Launch client: discovery, authorize, callback, token vault, refresh, backend services."""

    name = "apps.smart"
    label = "smart"
    verbose_name = _("SMART client")
    default_auto_field = "django.db.models.BigAutoField"
