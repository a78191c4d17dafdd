"""``manage.py seed_demo``: fill the database with realistic demo data and print one login per role.

Each installed app may have a ``demo`` module with ``seed(ctx)``, ``SEEDED_MODELS`` and ``LOGINS``
(see ``crm.demo``); they run in INSTALLED_APPS order, so that every app seeds after the apps it
depends on. The whole seed is one transaction: it lands entirely or not at all.
"""

from __future__ import annotations

import time
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils.module_loading import module_has_submodule

from crm.demo import DemoLogin, SeedContext, SeedOptions

DEFAULTS = SeedOptions()


class Command(BaseCommand):
    help = (
        "Seed realistic demo data: catalog, customers with their history, supplier stock, and one login "
        "per role (created or reset with the demo password). Refuses a database that already has data "
        "unless --if-empty (then does nothing) or --reset (then empties the seeded tables first)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=DEFAULTS.customers, help="Number of customers.")
        parser.add_argument(
            "--interactions",
            type=int,
            default=DEFAULTS.interactions,
            help="Average interactions per customer.",
        )
        parser.add_argument(
            "--suppliers", type=int, default=DEFAULTS.suppliers, help="Number of suppliers (at least 2)."
        )
        parser.add_argument("--products", type=int, default=DEFAULTS.products, help="Number of products.")
        parser.add_argument(
            "--seed", type=int, default=DEFAULTS.seed, help="Random seed: the same seed gives the same data."
        )
        parser.add_argument("--password", default=DEFAULTS.password, help="Password of every demo login.")
        parser.add_argument("--no-users", dest="users", action="store_false", help="Create no logins.")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--if-empty",
            action="store_true",
            help="Seed only an empty database; otherwise just print the logins.",
        )
        mode.add_argument(
            "--reset", action="store_true", help="Empty the seeded tables (and what references them) first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seed_options = SeedOptions(
            customers=options["customers"],
            interactions=options["interactions"],
            suppliers=options["suppliers"],
            products=options["products"],
            seed=options["seed"],
            password=options["password"],
            users=options["users"],
        )
        if seed_options.suppliers < 2 or seed_options.products < 1 or seed_options.customers < 0:
            raise CommandError("Seeding needs at least 2 suppliers (A and B of the logins) and 1 product.")
        if seed_options.interactions < 0:
            raise CommandError("--interactions cannot be negative.")
        modules = demo_modules()
        seeded_models = [model for module in modules for model in getattr(module, "SEEDED_MODELS", [])]
        logins = [login for module in modules for login in getattr(module, "LOGINS", [])]

        filled = [model._meta.label for model in seeded_models if model._default_manager.exists()]
        tables = ", ".join(filled[:3]) + (f" and {len(filled) - 3} more" if len(filled) > 3 else "")
        if filled and options["if_empty"]:
            self.stdout.write(f"The database already has data ({tables}): nothing seeded. The demo logins:")
            self.print_logins(logins, seed_options)
            return
        if filled and not options["reset"]:
            raise CommandError(
                f"The database already has data in {tables}. Use --reset to replace it (this deletes the "
                "rows of the demo's tables and every row that references them), or --if-empty."
            )

        started = time.perf_counter()
        ctx = SeedContext(
            options=seed_options,
            connection=connection,
            write=self.stdout.write,
            verbosity=options["verbosity"],
        )
        with transaction.atomic():
            if options["reset"]:
                with ctx.phase("Emptying the seeded tables"):
                    empty_tables(ctx, seeded_models)
            lock_tables(ctx, seeded_models)
            for module in modules:
                module.seed(ctx)
        self.stdout.write(f"Seeded in {time.perf_counter() - started:.1f} s:")
        for table, count in ctx.counts.items():
            self.stdout.write(f"  {table:<32} {count:>12,}")
        self.print_logins(logins, seed_options)

    def print_logins(self, logins: list[DemoLogin], options: SeedOptions) -> None:
        """The table of demo logins, to copy from."""
        if not options.users:
            return
        rows = [("username", "password", "role", "log in at")]
        rows += [(login.username, options.password, str(login.role), login.where) for login in logins]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        self.stdout.write("")
        for number, row in enumerate(rows):
            self.stdout.write(
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3]
            )
            if number == 0:
                self.stdout.write("  ".join("-" * width for width in [*widths, len(row[3])]))


def demo_modules() -> list[ModuleType]:
    """The ``demo`` modules of the installed apps, in INSTALLED_APPS order (dependencies first)."""
    return [
        import_module(f"{app_config.name}.demo")
        for app_config in apps.get_app_configs()
        if module_has_submodule(app_config.module, "demo")
    ]


def empty_tables(ctx: SeedContext, seeded_models: list[type[models.Model]]) -> None:
    """Empty the seeded tables and every table that references them; restart their ids at 1.

    PostgreSQL: one TRUNCATE ... RESTART IDENTITY CASCADE. SQLite: Django's equivalent DELETEs.
    """
    tables = [model._meta.db_table for model in seeded_models]
    statements = ctx.connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
    with ctx.connection.cursor() as cursor:
        if ctx.postgresql:
            # Pending deferred foreign-key checks on a table forbid truncating it: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in statements:
            cursor.execute(statement)
    if ctx.postgresql:
        ctx.truncated.update(tables)


def lock_tables(ctx: SeedContext, seeded_models: list[type[models.Model]]) -> None:
    """Keep other writers out of the seeded tables until the seed commits: seeding assigns ids itself.

    EXCLUSIVE mode still lets others read. SQLite needs nothing: its writer already holds the database.
    """
    if ctx.postgresql:
        quote = ctx.connection.ops.quote_name
        with ctx.connection.cursor() as cursor:
            tables = ", ".join(quote(model._meta.db_table) for model in seeded_models)
            cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
