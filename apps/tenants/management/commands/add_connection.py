from __future__ import annotations

import argparse
import json
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.tenants import selectors, services
from apps.tenants.management.commands._common import get_tenant, validation_message

MODES = {
    "ehr": "launch_ehr",
    "patient": "launch_standalone_patient",
    "provider": "launch_standalone_provider",
    "backend": "launch_backend_services",
}


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(value)


class Command(BaseCommand):
    help = (
        "Add an EHR connection to a tenant, or update it when a connection with this label exists "
        "(only the options given change)."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant_slug")
        parser.add_argument("--label", required=True)
        parser.add_argument("--fhir-base-url", help="the FHIR base URL (the SMART iss)")
        parser.add_argument("--environment", choices=["sandbox", "production"])
        parser.add_argument("--fhir-version", choices=["4.0.1", "4.3.0", "5.0.0"])
        parser.add_argument("--client-id")
        parser.add_argument("--client-auth", choices=["public", "client_secret_basic", "private_key_jwt"])
        parser.add_argument(
            "--client-secret-env",
            metavar="VARIABLE",
            help="name of an environment variable holding the client secret (keeps it out of the process list)",
        )
        parser.add_argument("--scopes", help="space-separated scopes")
        parser.add_argument("--launch-modes", help="comma-separated: ehr,patient,provider,backend")
        parser.add_argument("--backend-client-id")
        parser.add_argument("--frame-ancestors", help="space-separated origins allowed to embed CareLaunch")
        parser.add_argument("--allow-missing-s256", type=_bool, metavar="yes|no")
        parser.add_argument(
            "--authorize-post",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="send the authorization request as a form POST when the EHR advertises authorize-post",
        )

    def handle(self, *args, **options):
        tenant = get_tenant(options["tenant_slug"])
        data: dict = {"label": options["label"]}
        simple = {
            "fhir_base_url": "fhir_base_url",
            "environment": "environment",
            "fhir_version": "fhir_version",
            "client_id": "client_id",
            "client_auth": "client_auth_method",
            "scopes": "scopes",
            "backend_client_id": "backend_client_id",
            "frame_ancestors": "frame_ancestors",
            "allow_missing_s256": "allow_missing_s256",
            "authorize_post": "use_authorize_post",
        }
        for option, field in simple.items():
            if options[option] is not None:
                data[field] = options[option]
        if options["client_secret_env"]:
            secret = os.environ.get(options["client_secret_env"])
            if not secret:
                raise CommandError(f"Environment variable {options['client_secret_env']} is empty or not set")
            data["client_secret"] = secret
        if options["launch_modes"] is not None:
            wanted = {mode.strip() for mode in options["launch_modes"].split(",") if mode.strip()}
            unknown = wanted - set(MODES)
            if unknown:
                raise CommandError(f"Unknown launch mode(s): {', '.join(sorted(unknown))}")
            data.update({field: mode in wanted for mode, field in MODES.items()})
        existing = selectors.get_connection_by_label(tenant, options["label"])
        if existing is None:
            for required in ("fhir_base_url", "client_id"):
                if required not in data:
                    raise CommandError(f"--{required.replace('_', '-')} is required for a new connection")
        try:
            connection = services.save_connection(
                tenant=tenant, data=data, actor="manage.py add_connection", connection=existing
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(
            json.dumps(
                {
                    "id": connection.pk,
                    "label": connection.label,
                    "fhir_base_url": connection.fhir_base_url,
                    "created": existing is None,
                }
            )
        )
