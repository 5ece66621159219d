"""`manage.py seed_demo`: the sandbox EHR, its sign-ins and the demo tenant, ready for a reviewer."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core import demo


class Command(BaseCommand):
    help = "Seed the sandbox EHR and the demo tenant 'Demo Hospital / 示範醫院' (idempotent), then print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset-sandbox", action="store_true", help="regenerate the synthetic EHR records")

    def handle(self, *args: object, **options: object) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError("The demo needs the sandbox EHR: set SANDBOX_ENABLED=true.")
        data = demo.seed(reset_sandbox=bool(options["reset_sandbox"]), stdout=self.stdout)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("CareLaunch demo is ready: http://127.0.0.1:8000/"))
        self.stdout.write("Sign-ins (also on the home page; generated on first run, kept in var/demo_logins.json):")
        for row in data["carelaunch"]:
            self.stdout.write(f"  CareLaunch {row['role']:<12} {row['username']:<14} {row['password']}")
        for row in data["sandbox"][:8]:
            label = f"{row['role']} ({row['name']})"
            self.stdout.write(f"  Sandbox EHR {label:<34} {row['username']:<10} {row['password']}")
        if len(data["sandbox"]) > 8:
            self.stdout.write(f"  … {len(data['sandbox']) - 8} more sandbox sign-ins on the home page")
        self.stdout.write(f"  EHR simulator: {settings.SANDBOX_PUBLIC_URL}/sandbox/ehr/")
