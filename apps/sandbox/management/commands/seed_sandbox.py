"""`manage.py seed_sandbox`: replace the sandbox EHR's data with the deterministic synthetic dataset."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.sandbox import services
from apps.sandbox.data.generator import generate


class Command(BaseCommand):
    help = "Replace all sandbox EHR data with the deterministic synthetic dataset (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--patients", type=int, default=25)
        parser.add_argument("--heavy", type=int, default=2, help="patients with thousands of Observations")
        parser.add_argument("--heavy-observations", type=int, default=5200)
        parser.add_argument("--seed", type=int, default=20250630)

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        dataset = generate(
            patients=options["patients"],
            heavy=options["heavy"],
            heavy_observations=options["heavy_observations"],
            seed=options["seed"],
        )
        generated = time.perf_counter()
        with transaction.atomic():
            services.delete_all()
            total = services.bulk_insert(dataset.resources)
        services.analyze()
        done = time.perf_counter()
        for resource_type, count in dataset.counts().items():
            self.stdout.write(f"  {resource_type:<24} {count:>7}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {total} sandbox resources in {done - started:.1f} s "
                f"(generate {generated - started:.1f} s, store {done - generated:.1f} s)."
            )
        )
