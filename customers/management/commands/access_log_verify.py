"""Verify the personal-data access log's hash chain: exits 1 and names each break when a record was
edited, deleted or moved."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from customers.privacy.chain import chain_seal, chain_verify


class Command(BaseCommand):
    help = "Verify the hash chain of the personal-data access log."

    def handle(self, *args: Any, **options: Any) -> None:
        sealed = chain_seal()
        if sealed:
            self.stdout.write(f"Sealed {sealed} new records into the chain.")
        checked, problems = chain_verify()
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(
                f"The access log's chain is broken: {len(problems)} problem(s) in {checked} records."
            )
        self.stdout.write(
            self.style.SUCCESS(f"The access log's chain is intact: {checked} records verified.")
        )
