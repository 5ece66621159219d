"""Authorization-server routes of the sandbox EHR (mounted at /sandbox/, before the FHIR API)."""

from django.urls import path

from apps.sandbox.oauth import views

app_name = "sandbox_oauth"

urlpatterns = [
    path("fhir/.well-known/smart-configuration", views.smart_configuration, name="smart-configuration"),
    path("fhir/.well-known/openid-configuration", views.openid_configuration, name="openid-configuration"),
    path("oauth/authorize/", views.authorize, name="authorize"),
    path("oauth/authorize/<str:txn>/", views.authorize_step, name="authorize-step"),
    path("oauth/token/", views.token, name="token"),
    path("oauth/introspect/", views.introspect, name="introspect"),
    path("oauth/revoke/", views.revoke, name="revoke"),
    path("oauth/jwks.json", views.jwks, name="jwks"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("style.json", views.style, name="style"),
    path("ehr/", views.ehr_simulator, name="ehr"),
]
