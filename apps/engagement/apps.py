from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "apps.engagement"
    label = "engagement"
    verbose_name = _("Patient engagement")
    default_auto_field = "django.db.models.BigAutoField"
