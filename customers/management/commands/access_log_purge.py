"""Delete access records older than the retention period (``CRM_ACCESS_LOG_RETENTION_DAYS``), leaving a
checkpoint so that the rest of the chain still verifies. The beat task does this daily."""

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from customers.privacy.chain import access_log_purge


class Command(BaseCommand):
    help = "Purge access records past their retention period, keeping the chain verifiable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help="Keep this many days instead of the setting."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.CRM_ACCESS_LOG_RETENTION_DAYS
        purged = access_log_purge(before=timezone.now() - dt.timedelta(days=days))
        self.stdout.write(f"Purged {purged} access records older than {days} days.")
