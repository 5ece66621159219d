from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.tenants import services
from apps.tenants.management.commands._common import get_tenant


class Command(BaseCommand):
    help = (
        "Rotate a tenant's signing keys: new active RS384 and ES384 keys; the old ones stay published in the "
        "JWKS for TENANT_KEY_ROTATION_OVERLAP seconds, then are retired."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant_slug")

    def handle(self, *args, **options):
        tenant = get_tenant(options["tenant_slug"])
        keys = services.rotate_keys(tenant=tenant, actor="manage.py rotate_keys")
        self.stdout.write(
            json.dumps(
                {
                    "tenant": tenant.slug,
                    "active": [{"alg": key.alg, "kid": key.kid} for key in keys],
                    "overlap_seconds": settings.TENANT_KEY_ROTATION_OVERLAP,
                }
            )
        )
