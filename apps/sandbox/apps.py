from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The built-in SMART on FHIR sandbox EHR: an external system that happens to live in our process.

    Nothing here is tenant-owned: the sandbox plays the hospital's EHR, which knows nothing of tenants.
    """

    name = "apps.sandbox"
    label = "sandbox"
