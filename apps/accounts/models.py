from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who signs in to CareLaunch: our staff, hospital IT, or (without a password) a SMART user.

    SMART-launched users are recorded per (tenant, fhirUser) by the smart app for audit; they have an
    unusable password and never sign in here.
    """

    email = models.EmailField(_("email address"), blank=True, db_index=True)
    preferred_language = models.CharField(_("preferred language"), max_length=16, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
