"""The retention policy: anonymise customers without activity for N years. A dry run by default."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from customers.privacy.retention import retention_report, retention_run


class Command(BaseCommand):
    help = "Report (default) or anonymise (--run) customers inactive for CRM_RETENTION_INACTIVE_YEARS years."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--years", type=int, default=None, help="Instead of the setting.")
        parser.add_argument("--run", action="store_true", help="Anonymise them (irreversible).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["run"]:
            report = retention_run(years=options["years"])
        else:
            report = retention_report(years=options["years"])
        if report.cutoff is None:
            self.stdout.write("The retention policy is off (CRM_RETENTION_INACTIVE_YEARS=0).")
            return
        if options["run"] and report.waiting_for_imports:
            ids = ", ".join(f"#{pk}" for pk in report.waiting_for_imports)
            self.stdout.write(f"Nobody anonymised: waiting for unfinished imports {ids}.")
            return
        if options["run"]:
            self.stdout.write(
                f"Anonymised {report.erased} customers inactive since {report.cutoff:%Y-%m-%d}."
            )
            return
        self.stdout.write(
            f"Dry run: {report.due} customers inactive since {report.cutoff:%Y-%m-%d} would be anonymised."
        )
        for customer in report.sample:
            self.stdout.write(f"  #{customer.pk}")
