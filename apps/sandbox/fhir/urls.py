"""FHIR R4 API of the sandbox EHR, mounted at /sandbox/fhir/ (after the authorization server's routes)."""

from django.urls import path, re_path

from apps.sandbox.bulk import views as bulk_views
from apps.sandbox.fhir import views

app_name = "sandbox_fhir"

TYPE = r"(?P<resource_type>[A-Z][A-Za-z]{1,63})"
ID = r"(?P<logical_id>[A-Za-z0-9\-.]{1,64})"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    re_path(r"^Patient/\$export$", bulk_views.patient_export, name="patient-export"),
    re_path(r"^Group/(?P<group_id>[A-Za-z0-9\-.]{1,64})/\$export$", bulk_views.group_export, name="group-export"),
    path("bulk-status/<uuid:job_id>", bulk_views.export_status, name="bulk-status"),
    path("bulk-files/<uuid:job_id>/<str:name>", bulk_views.export_file, name="bulk-file"),
    re_path(rf"^{TYPE}$", views.type_endpoint, name="type"),
    re_path(rf"^{TYPE}/_search$", views.search_post, name="search"),
    re_path(rf"^{TYPE}/{ID}$", views.read, name="read"),
    re_path(rf"^{TYPE}/{ID}/_history/(?P<version>[0-9]{{1,9}})$", views.vread, name="vread"),
    re_path(r"^(?P<rest>.*)$", views.not_found, name="not-found"),
]
