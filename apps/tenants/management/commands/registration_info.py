from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from apps.tenants import selectors
from apps.tenants.management.commands._common import get_tenant


class Command(BaseCommand):
    help = "Print, as JSON, the values to register at the EHR: launch URL, redirect URI(s), JWKS URL, scopes."

    def add_arguments(self, parser):
        parser.add_argument("tenant_slug")
        parser.add_argument("--connection", metavar="LABEL", help="only this connection")

    def handle(self, *args, **options):
        tenant = get_tenant(options["tenant_slug"])
        info = selectors.registration_info(tenant)
        if options["connection"]:
            info["connections"] = [c for c in info["connections"] if c["connection"] == options["connection"]]
            if not info["connections"]:
                raise CommandError(f"No connection {options['connection']!r} in tenant {tenant.slug!r}")
        self.stdout.write(json.dumps(info, indent=2, ensure_ascii=False))
