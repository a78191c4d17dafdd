"""Time ``seed_demo`` at benchmark size on PostgreSQL (COPY, indexes rebuilt after the load).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python benchmarks/seed.py --customers 1000000
    DATABASE_URL=... python benchmarks/seed.py --ci        # 2,000 customers, for CI

It empties the demo tables of the database it is given (``seed_demo --reset``): point it at a database
kept for benchmarks. Measured on the 2-core machine: 1M customers with 20M interactions in 9 min 02 s.
"""

import argparse
import time

from _harness import django_setup, print_json, table_rows

TABLES = [
    "customers_customer",
    "customers_customeridentity",
    "customers_interaction",
    "customers_purchaseline",
    "customers_contract",
    "customers_consent",
    "customers_consentchange",
    "customers_customeranalytics",
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="a small run that only proves the benchmark works")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=20, help="average per customer")
    args = parser.parse_args()
    if args.ci:
        args.customers = 2000

    django_setup()
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("seed_demo", customers=args.customers, interactions=args.interactions, reset=True, seed=1)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"ANALYZE {table}")
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    figures: dict[str, object] = {"seconds": elapsed, "database size": size}
    figures.update({table: f"{table_rows(table):,} rows" for table in TABLES})
    print_json(f"seed_demo --customers {args.customers:,} --interactions {args.interactions}", figures)


if __name__ == "__main__":
    main()
