from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug

from apps.core.models import Tenant
from apps.tenants import services
from apps.tenants.management.commands._common import validation_message


class Command(BaseCommand):
    help = "Create a tenant (pending approval unless --activate) with its signing keys."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name-en", required=True)
        parser.add_argument("--name-zh-hant", default="")
        parser.add_argument("--owner", help="username of an existing user who becomes the tenant's owner")
        parser.add_argument("--activate", action="store_true", help="staff only: approve the tenant at once")

    def handle(self, *args, **options):
        slug = options["slug"]
        try:
            validate_slug(slug)
        except ValidationError as exc:
            raise CommandError(f"Invalid slug {slug!r}: {validation_message(exc)}") from None
        if Tenant.objects.filter(slug=slug).exists():
            raise CommandError(f"A tenant with slug {slug!r} already exists")
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"No user {options['owner']!r}")
        tenant = services.create_tenant(
            slug=slug,
            name_en=options["name_en"],
            name_zh_hant=options["name_zh_hant"],
            owner=owner,
            actor=owner or "manage.py create_tenant",
        )
        if options["activate"]:
            try:
                tenant = services.activate_tenant(tenant=tenant, actor="manage.py create_tenant")
            except ValidationError as exc:
                raise CommandError(validation_message(exc)) from None
        self.stdout.write(json.dumps({"slug": tenant.slug, "status": tenant.status}))
