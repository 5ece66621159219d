from django.apps import AppConfig


class SandboxOAuthConfig(AppConfig):
    """The sandbox EHR's authorization server (django-oauth-toolkit): its own models and migrations."""

    name = "apps.sandbox.oauth"
    label = "sandbox_oauth"

    def ready(self) -> None:
        from apps.sandbox.oauth.keys import ensure_signing_key

        ensure_signing_key()
