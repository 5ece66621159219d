"""Public per-tenant URLs, mounted at /t/. The SMART client adds `<slug>/callback/<connection id>` here."""

from django.urls import path

from apps.tenants import views

app_name = "tenants"

urlpatterns = [
    path("<slug:tenant_slug>/.well-known/jwks.json", views.jwks, name="jwks"),
]
