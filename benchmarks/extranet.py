"""Supplier dashboards: p95 of the dashboard pages and their API for a supplier with 10,000 products and
5M sale lines, 8 concurrent clients against gunicorn with production settings.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_extranet_bench python benchmarks/extranet.py
    DATABASE_URL=... python benchmarks/extranet.py --ci      # small, for CI

The data is made once with COPY (customers, purchase interactions, their lines spread over ``--days``
days, stock at every location) for a supplier of its own (``bench-extranet``) and reused by later runs;
its lines are folded into the daily rollups (timed: the fold is what keeps the dashboards cheap). Each
dashboard is requested for the default range (the last four weeks) and for a whole year. Target
(DESIGN.md): p95 under 200 ms. Besides latency, each URL reports the CPU time its requests cost the
gunicorn workers and the database's PostgreSQL backends, which other work on the machine does not change.
"""

import argparse
import datetime as dt
import io
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator

from _harness import (
    ROOT,
    Request,
    cpu_seconds_since,
    django_setup,
    load,
    print_json,
    server,
    server_and_database_cpu,
)

SECRET_KEY = os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
CODE = "bench-extranet"
CHANNELS = ["store", "store", "store", "web", "app"]


def copy_rows(cursor: object, sql: str, rows: Iterator[str], batch: int = 50_000) -> int:
    """COPY tab-separated text lines, sent in large writes."""
    count = 0
    with cursor.copy(sql) as copy:  # type: ignore[attr-defined]
        buffer = io.StringIO()
        for count, line in enumerate(rows, start=1):
            buffer.write(line)
            if count % batch == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def prepare(args: argparse.Namespace) -> int:
    """Make (or find) the bench supplier with its products, stock and lines; fold them; return its id."""
    from django.db import connection, transaction
    from django.utils import timezone

    from crm.models import Location, Product, Supplier
    from customers.models import Customer, PurchaseLine, SourceSystem
    from extranet.models import InventoryLevel
    from extranet.rollup import sales_rollup_fold
    from extranet.stock import stock_totals_rebuild

    supplier, _ = Supplier.objects.get_or_create(code=CODE, defaults={"name": "Bench Supplier 벤치"})
    have = PurchaseLine.objects.filter(supplier=supplier).order_by().values("id")[: args.lines].count()
    if have >= args.lines and Product.objects.filter(supplier=supplier).count() >= args.products:
        print(f"Reusing {have:,} lines of {CODE}.")
    else:
        rng = random.Random(2026)
        started = time.perf_counter()
        with transaction.atomic():
            locations = [
                Location.objects.get_or_create(
                    code=f"bench-store-{n}", defaults={"name": f"벤치 매장 {n}", "kind": Location.Kind.STORE}
                )[0].pk
                for n in range(20)
            ]
            source, _ = SourceSystem.objects.get_or_create(
                code="bench-pos", defaults={"name": "Bench POS", "kind": "pos"}
            )
            existing = Product.objects.filter(supplier=supplier).count()
            now = timezone.now()
            stamp = now.isoformat()
            products = [
                Product(
                    supplier=supplier,
                    sku=f"BX-{n:06d}",
                    name=f"Bench shoe {n}",
                    cost=40000 + n % 50 * 1000,
                    price=90000 + n % 70 * 1000,
                )
                for n in range(existing, args.products)
            ]
            Product.objects.bulk_create(products, batch_size=5000)
            catalog = list(
                Product.objects.filter(supplier=supplier).order_by("id").values_list("id", "cost", "price")
            )
            InventoryLevel.objects.filter(product__supplier=supplier).delete()
            with connection.cursor() as cursor:
                raw = cursor.cursor
                copy_rows(
                    raw,
                    "COPY extranet_inventorylevel (product_id, location_id, on_hand, on_order, updated_at) FROM STDIN",
                    (
                        f"{pid}\t{loc}\t{int(rng.random() ** 2 * 60)}\t{rng.choice([0, 0, 0, 24])}\t{stamp}\n"
                        for pid, _c, _p in catalog
                        for loc in locations[:8]
                    ),
                )
                customers = max(args.lines // 50, 10)
                first_customer = (
                    Customer.objects.order_by("-id").values_list("id", flat=True).first() or 0
                ) + 1
                copy_rows(
                    raw,
                    "COPY customers_customer (id, created_at, updated_at, name, email, phone, phone_normalized, "
                    "gender, address, postal_code, region, preferred_language, status) FROM STDIN",
                    (
                        f"{first_customer + n}\t{stamp}\t{stamp}\tBench {n}\t\t\t\t\t\t\t\t\tactive\n"
                        for n in range(customers)
                    ),
                )
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), (SELECT MAX(id) FROM customers_customer))"
                )
                cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM customers_interaction")
                first_interaction = cursor.fetchone()[0]
                interactions = args.lines // 5
                start = now - dt.timedelta(days=args.days)
                span = args.days * 86400
                times = [(start + dt.timedelta(seconds=rng.randrange(span))) for _ in range(interactions)]
                channels = [rng.choice(CHANNELS) for _ in range(interactions)]
                copy_rows(
                    raw,
                    "COPY customers_interaction (id, external_id, kind, channel, occurred_at, amount, currency, "
                    "summary, properties, recorded_at, customer_id, source_system_id) FROM STDIN",
                    (
                        f"{first_interaction + n}\tBX-{first_interaction + n}\tpurchase\t{channels[n]}\t"
                        f"{times[n].isoformat()}\t0\tKRW\tBench sale\t{{}}\t{stamp}\t"
                        f"{first_customer + n % customers}\t{source.pk}\n"
                        for n in range(interactions)
                    ),
                )
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('customers_interaction', 'id'), (SELECT MAX(id) FROM customers_interaction))"
                )
                size = len(catalog)

                def lines() -> Iterator[str]:
                    rnd = rng.random
                    for n in range(interactions * 5):
                        i = n // 5
                        pid, cost, price = catalog[int(size * rnd() ** 2)]
                        channel = channels[i]
                        location = locations[i % 20] if channel == "store" else "\\N"
                        is_return = "t" if rnd() < 0.04 else "f"
                        yield (
                            f"{first_interaction + i}\t{pid}\t{supplier.pk}\t{location}\t{times[i].isoformat()}\t"
                            f"{channel}\t{is_return}\t{1 + int(rnd() * 2.5)}\t{price}\t{cost}\tKRW\n"
                        )

                copied = copy_rows(
                    raw,
                    "COPY customers_purchaseline (interaction_id, product_id, supplier_id, location_id, occurred_at, "
                    "channel, is_return, quantity, unit_price, unit_cost, currency) FROM STDIN",
                    lines(),
                )
        elapsed = time.perf_counter() - started
        print(
            f"Copied {copied:,} lines ({interactions:,} interactions) in {elapsed:.0f} s ({copied / elapsed:,.0f} lines/s)."
        )

    # The levels were copied past the stock service (and a database made before the totals existed has
    # them only from its migration): recompute the suppliers' totals, as a bulk load must.
    stock_totals_rebuild()
    started = time.perf_counter()
    covered = sales_rollup_fold(lag=dt.timedelta(0))
    elapsed = time.perf_counter() - started
    if covered:
        print(
            f"Folded line ids covering {covered:,} ids into the rollups in {elapsed:.1f} s ({covered / elapsed:,.0f} ids/s)."
        )
    with connection.cursor() as cursor:
        if covered:
            # A bulk load folds lines of every day at once, scattering a day's rows over the table; folds of
            # lines as they arrive (in time order) keep them together. Restore that order once.
            cursor.execute("CLUSTER extranet_productsalesday USING extranet_product_day_unique")
            cursor.execute("CLUSTER extranet_suppliersalesday USING extranet_supplier_day_unique")
            cursor.execute("CLUSTER extranet_productsalesmonth USING extranet_product_month_unique")
            cursor.execute("CLUSTER extranet_suppliersalesmonth USING extranet_supplier_month_unique")
            cursor.execute("CLUSTER extranet_suppliersalesweek USING extranet_supplier_week_unique")
    with connection.cursor() as cursor:
        for table in [
            "customers_purchaseline",
            "extranet_productsalesday",
            "extranet_productsalesmonth",
            "extranet_suppliersalesday",
            "extranet_suppliersalesmonth",
            "extranet_suppliersalesweek",
            "extranet_inventorylevel",
            "extranet_supplierstock",
            "crm_product",
        ]:
            # VACUUM as autovacuum would after a bulk load: the visibility map lets covering indexes
            # answer without visiting the table.
            cursor.execute(f"VACUUM ANALYZE {table}")
    return supplier.pk


def supplier_session(supplier_id: int) -> tuple[str, str]:
    """A signed-in supplier admin: a session cookie for the pages and a token for the API."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from crm.models import User
    from crm.roles import Role
    from extranet.models import SupplierMembership

    user, _ = User.objects.get_or_create(
        username="bench_supplier_admin", defaults={"email": "bench-supplier@example.com"}
    )
    user.groups.set([Group.objects.get(name=Role.SUPPLIER_ADMIN)])
    SupplierMembership.objects.update_or_create(
        user=user, defaults={"supplier_id": supplier_id, "role": SupplierMembership.Role.ADMIN}
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    token, _ = Token.objects.get_or_create(user=user)
    return session.session_key or "", token.key


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="a small run that only proves the benchmark works")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365, help="the lines are spread over this many days")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40, help="requests per client and URL")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    args = parser.parse_args()
    if args.ci:
        args.products, args.lines, args.requests, args.clients, args.workers = 200, 20_000, 3, 2, 2

    django_setup()
    from django.utils import timezone

    supplier_id = prepare(args)
    session_key, token = supplier_session(supplier_id)
    today = timezone.localdate()
    year = f"start={today - dt.timedelta(days=364)}&end={today}"
    pages = ["/extranet/", "/extranet/inventory/", "/extranet/sales/", "/extranet/profitability/"]
    apis = [
        "/api/v1/extranet/dashboards/inventory/",
        "/api/v1/extranet/dashboards/sales/",
        "/api/v1/extranet/dashboards/profitability/",
    ]
    targets = [(url, "page") for url in pages] + [(url, "api") for url in apis]
    targets += [(f"{url}?{year}", kind) for url, kind in targets if "inventory" not in url]

    # Production serves hashed static files from a manifest: collect them once, as a deployment does.
    static_root = os.environ.get("BENCH_STATIC_ROOT", "/tmp/crm-bench-static")
    env = {
        **os.environ,
        "CRM_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "STATIC_ROOT": static_root,
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True
    )

    from django.db import connection

    database = connection.settings_dict["NAME"]
    failed = []
    # Connections kept for the whole run, so that no PostgreSQL backend (and its CPU time) ends mid-measure.
    server_env = {"SECRET_KEY": SECRET_KEY, "STATIC_ROOT": static_root, "DATABASE_CONN_MAX_AGE": "3600"}
    with server(workers=args.workers, env=server_env) as port:
        for url, kind in targets:
            headers = (
                {"Cookie": f"sessionid={session_key}"}
                if kind == "page"
                else {"Authorization": f"Token {token}"}
            )

            def requests(_client: int, url: str = url, headers: dict = headers) -> Iterator[Request]:
                for _ in range(args.requests):
                    yield "GET", url, None, headers

            load(port, 1, requests)  # warm the workers' connections
            cpu_before = server_and_database_cpu(port, database)
            run = load(port, args.clients, requests)
            cpu = [
                cpu_seconds_since(before, after)
                for before, after in zip(cpu_before, server_and_database_cpu(port, database), strict=True)
            ]
            figures = run.summary()
            served = max(1, len(run.latencies))
            print_json(
                f"{url}  ({args.clients} clients, {args.products:,} products, {args.lines:,} lines)",
                {
                    **figures,
                    "server CPU ms per request": cpu[0] * 1000 / served,
                    "PostgreSQL CPU ms per request": cpu[1] * 1000 / served,
                    "statuses": run.statuses,
                },
            )
            if set(run.statuses) != {200}:
                failed.append(f"{url}: {run.statuses}")
    if failed:
        raise SystemExit("Non-200 answers: " + "; ".join(failed))


if __name__ == "__main__":
    main()
