"""Sandbox EHR routes, mounted at /sandbox/ when SANDBOX_ENABLED.

The authorization server's routes come first so `fhir/.well-known/smart-configuration` wins over the
FHIR API's `<type>/<id>` patterns.
"""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.sandbox.oauth.urls")),
    path("fhir/", include("apps.sandbox.fhir.urls")),
]
