from django.apps import AppConfig


class SandboxOAuthConfig(AppConfig):
    """The sandbox EHR's authorization server (django-oauth-toolkit): its own models and migrations."""

    name = "apps.sandbox.oauth"
    label = "sandbox_oauth"
