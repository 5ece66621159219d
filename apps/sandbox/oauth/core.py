"""The oauthlib core the sandbox views call (DOT's OAuthLibCore with absolute request URIs)."""

from __future__ import annotations

from oauth2_provider.oauth2_backends import OAuthLibCore


class SandboxOAuthLibCore(OAuthLibCore):
    """oauthlib sees absolute URIs, so the validator can derive issuer, token URL (`aud` of client assertions)
    and FHIR base from the host the request came to."""

    def _get_escaped_full_path(self, request):
        return f"{request.scheme}://{request.get_host()}{super()._get_escaped_full_path(request)}"


def get_core() -> SandboxOAuthLibCore:
    return SandboxOAuthLibCore()
