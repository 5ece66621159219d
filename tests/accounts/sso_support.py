"""A real OpenID provider for the SSO tests: django-oauth-toolkit's stock OIDC views, on the live server."""

from django.urls import include, path
from oauth2_provider.oauth2_validators import OAuth2Validator

from config.urls import urlpatterns as app_urlpatterns


class EmailClaimsValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "email": "email", "email_verified": "email"}

    def get_additional_claims(self, request):
        user = request.user
        return {"email": user.email, "email_verified": True, "given_name": user.first_name}


urlpatterns = [
    *app_urlpatterns,
    path("op/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("oidc/", include("mozilla_django_oidc.urls")),
]
