from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import validate_slug
from django.utils.translation import gettext_lazy as _

from apps.core.models import Tenant
from apps.tenants.models import EhrConnection, Role


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Work email"), required=True)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class TenantForm(forms.Form):
    slug = forms.CharField(
        label=_("Short name (used in URLs)"),
        max_length=50,
        min_length=3,
        validators=[validate_slug],
        help_text=_("Lower-case letters, digits and hyphens, e.g. taipei-general."),
    )
    name_en = forms.CharField(label=_("Hospital name (English)"), max_length=200)
    name_zh_hant = forms.CharField(label=_("Hospital name (繁體中文)"), max_length=200, required=False)

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if Tenant.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("This short name is taken; choose another."), code="unique")
        return slug


class ConnectionForm(forms.Form):
    label = forms.CharField(label=_("Label"), max_length=100)
    environment = forms.ChoiceField(label=_("Environment"), choices=EhrConnection.Environment.choices)
    fhir_base_url = forms.CharField(
        label=_("FHIR base URL (iss)"),
        max_length=500,
        help_text=_(
            "The FHIR server's base URL exactly as your EHR sends it as iss, e.g. https://ehr.example.org/fhir"
        ),
    )
    fhir_version = forms.ChoiceField(label=_("FHIR version"), choices=EhrConnection.FhirVersion.choices)
    client_id = forms.CharField(label=_("Client ID"), max_length=255)
    client_auth_method = forms.ChoiceField(label=_("Client authentication"), choices=EhrConnection.ClientAuth.choices)
    client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Only for client secret authentication. Leave blank to keep the stored secret."),
    )
    scopes = forms.CharField(label=_("Scopes"), widget=forms.Textarea(attrs={"rows": 2}))
    launch_ehr = forms.BooleanField(label=_("EHR launch"), required=False)
    launch_standalone_patient = forms.BooleanField(label=_("Standalone patient launch"), required=False)
    launch_standalone_provider = forms.BooleanField(label=_("Standalone provider launch"), required=False)
    launch_backend_services = forms.BooleanField(label=_("Backend services"), required=False)
    backend_client_id = forms.CharField(label=_("Backend services client ID"), max_length=255, required=False)
    frame_ancestors = forms.CharField(
        label=_("Allowed frame ancestors"),
        required=False,
        help_text=_("Space-separated origins allowed to embed CareLaunch, e.g. https://ehr.example.org"),
    )
    allow_missing_s256 = forms.BooleanField(
        label=_("Accept a server that does not advertise PKCE S256"), required=False
    )
    use_authorize_post = forms.BooleanField(
        label=_("Send the authorization request as a POST (authorize-post)"),
        required=False,
        help_text=_("Used only when the EHR advertises authorize-post; otherwise CareLaunch redirects with GET."),
    )

    @classmethod
    def initial_for(cls, connection: EhrConnection | None) -> dict:
        if connection is None:
            return {
                "scopes": EhrConnection._meta.get_field("scopes").default,
                "launch_ehr": True,
                "environment": EhrConnection.Environment.PRODUCTION,
                "fhir_version": "4.0.1",
            }
        return {name: getattr(connection, name) for name in cls.base_fields if name != "client_secret"}


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)
