"""Fold purchase lines into the supplier dashboards' daily rollups now (the beat task does it every 30 s)."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from extranet.rollup import sales_rollup_fold


class Command(BaseCommand):
    help = "Fold new purchase lines into the supplier dashboards' daily rollups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            action="store_true",
            help="Fold every committed line at once, without waiting for the lag (no concurrent writers).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        covered = sales_rollup_fold(lag=dt.timedelta(0) if options["now"] else None)
        self.stdout.write(f"Folded line ids covering {covered} ids.")
