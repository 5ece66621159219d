from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from apps.tenants import selectors, services
from apps.tenants.management.commands._common import get_tenant


class Command(BaseCommand):
    help = "Run SMART discovery against a connection and print what the EHR supports; exit 1 on failure."

    def add_arguments(self, parser):
        parser.add_argument("tenant_slug")
        parser.add_argument("label")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        tenant = get_tenant(options["tenant_slug"])
        connection = selectors.get_connection_by_label(tenant, options["label"])
        if connection is None:
            raise CommandError(f"No connection {options['label']!r} in tenant {tenant.slug!r}")
        report = services.test_connection(connection=connection, actor="manage.py test_connection")
        if not report.ok:
            if options["json"]:
                self.stdout.write(json.dumps({"ok": False, "error": report.error.code, "message": str(report.error)}))
            raise CommandError(f"Connection test failed [{report.error.code}]: {report.error}")
        result = report.result
        summary = {
            "ok": True,
            "iss": result.iss,
            "source": result.source,
            "fhir_version": result.fhir_version,
            "endpoints": result.endpoints,
            "capabilities": result.capabilities,
            "code_challenge_methods_supported": result.code_challenge_methods,
            "token_endpoint_auth_methods_supported": result.token_auth_methods,
            "scopes_supported": result.scopes_supported,
            "warnings": result.warnings,
            "authorize_post": {
                "advertised": "authorize-post" in result.capabilities,
                "enabled": connection.use_authorize_post,
            },
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self.stdout.write(f"Connection OK: {result.iss} (from {result.source})")
        self.stdout.write(f"FHIR version: {result.fhir_version or 'unknown'}")
        for name, url in result.endpoints.items():
            self.stdout.write(f"{name}: {url}")
        self.stdout.write(f"PKCE methods: {' '.join(result.code_challenge_methods) or '-'}")
        self.stdout.write(f"Client auth methods: {' '.join(result.token_auth_methods) or '-'}")
        self.stdout.write(f"Capabilities: {' '.join(result.capabilities) or '-'}")
        self.stdout.write(f"Scopes supported: {' '.join(result.scopes_supported) or '-'}")
        if "authorize-post" in result.capabilities:
            state = "in use" if connection.use_authorize_post else "not turned on (--authorize-post)"
            self.stdout.write(f"authorize-post: advertised, {state}")
        elif connection.use_authorize_post:
            self.stdout.write("Warning: authorize-post is turned on but not advertised; the launch redirects with GET")
        for warning in result.warnings:
            self.stdout.write(f"Warning: {warning}")
