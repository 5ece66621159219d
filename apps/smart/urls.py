"""SMART launch routes, mounted at the site root (config/urls.py).

The callback path is exactly the one apps.tenants.selectors.redirect_uri_for builds:
`/t/<slug>/callback/<connection id>` (one redirect URI per connection: mix-up defence).
"""

from django.urls import path

from apps.smart import views
from apps.smart.models import LaunchMode

app_name = "smart"

urlpatterns = [
    path("launch", views.launch, name="launch"),
    path("launch/patient/", views.choose_hospital, name="choose-hospital"),
    path(
        "t/<slug:tenant_slug>/launch/patient",
        views.standalone_launch,
        {"mode": LaunchMode.PATIENT.value},
        name="launch-patient",
    ),
    path(
        "t/<slug:tenant_slug>/launch/provider",
        views.standalone_launch,
        {"mode": LaunchMode.PROVIDER.value},
        name="launch-provider",
    ),
    path("t/<slug:tenant_slug>/callback/<int:connection_id>", views.callback, name="callback"),
    path("t/<slug:tenant_slug>/app/<str:handle>/", views.app, name="app"),
    path("t/<slug:tenant_slug>/app/<str:handle>/logout", views.logout, name="logout"),
    path("app/", views.app_from_session, name="app-session"),
]
