"""The monthly review of the personal-data access log, printed or written as CSV."""

import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.exports import spreadsheet_safe
from customers.privacy.forms import MonthForm
from customers.privacy.review import access_review, parse_month, review_csv_rows


class Command(BaseCommand):
    help = "Review a month of the access log: who accessed how many customers, off-hours, downloads, spikes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", default=MonthForm.last_month(), help="YYYY-MM (default: last month).")
        parser.add_argument("--csv", action="store_true", help="Write CSV to standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            month = parse_month(options["month"])
        except ValueError as error:
            raise CommandError(f"--month: give YYYY-MM, not {options['month']!r}.") from error
        review = access_review(month=month)
        if options["csv"]:
            writer = csv.writer(self.stdout)
            for row in review_csv_rows(review):
                writer.writerow([spreadsheet_safe(cell) for cell in row])
            return
        self.stdout.write(f"Access review of {review.month:%Y-%m}")
        for user in review.users:
            flag = "  WELL ABOVE USUAL" if user.spike else ""
            self.stdout.write(
                f"  {user.username}: {user.customer_count} customers in {user.records} records "
                f"(usual {user.usual:.0f}), {user.off_hours} off hours, {user.downloads} downloads{flag}"
            )
        self.stdout.write(f"Downloads and exports: {review.downloads_total}")
        for download in review.downloads:
            self.stdout.write(
                f"  {download['at']:%Y-%m-%d %H:%M} {download['username']} {download['route']}: "
                f"{download['reason']}"
            )
        self.stdout.write(f"Off-hours accesses: {review.off_hours_total}")
