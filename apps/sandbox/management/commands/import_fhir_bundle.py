"""`manage.py import_fhir_bundle <file> [<file> ...]`: load FHIR R4 Bundles (e.g. Synthea output) into the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.sandbox import services
from apps.sandbox.importer import BundleError, import_bundle


class Command(BaseCommand):
    help = "Import FHIR R4 transaction/batch/collection Bundles into the sandbox EHR (all or nothing per file)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args, **options) -> None:
        for path in options["files"]:
            try:
                with path.open("rb") as handle:
                    bundle = json.load(handle)
            except OSError as error:
                raise CommandError(f"{path}: cannot read ({error.strerror})") from None
            except (ValueError, UnicodeDecodeError) as error:
                raise CommandError(f"{path}: not valid JSON ({error})") from None
            try:
                report = import_bundle(bundle=bundle)
            except BundleError as error:
                raise CommandError(f"{path}: {error}\nNothing was imported from this file.") from None
            self.stdout.write(f"{path}:")
            for resource_type in sorted(set(report.created) | set(report.updated)):
                self.stdout.write(
                    f"  {resource_type:<24} created {report.created[resource_type]:>6}"
                    f"  updated {report.updated[resource_type]:>6}"
                )
            for resource_type, count in sorted(report.skipped.items()):
                self.stdout.write(f"  {resource_type:<24} skipped {count:>6} (type not served by the sandbox)")
            services.analyze()
            total = sum(report.created.values()) + sum(report.updated.values())
            self.stdout.write(self.style.SUCCESS(f"Imported {total} resources from {path}."))
