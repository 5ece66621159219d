from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The tenant console for hospital IT. No models of its own: it calls apps.tenants services/selectors."""

    name = "apps.console"
    label = "console"
    verbose_name = _("Tenant console")
