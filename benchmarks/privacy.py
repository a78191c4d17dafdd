"""What privacy costs: the access log per request, its growth, verification, and data-subject requests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python benchmarks/privacy.py
    DATABASE_URL=... python benchmarks/privacy.py --ci      # small, for CI

1. The timeline API (``ENDPOINT``, 50 newest items, issue 7's measure) against gunicorn with production
   settings, with the access log and without it (``_privacy_nolog_wsgi.py``, the same application with
   the log's write replaced by nothing), alternated to even out the machine's load. Each is measured
   with one client alone, where the difference is what the log adds to a request (target: under 1 ms),
   and with 8 concurrent keep-alive clients, where every request also queues behind the others on the
   two cores, so that a cost of c ms of machine time shows as about 8 × c ms; the CPU the requests cost
   gunicorn and PostgreSQL is reported for both.
2. The write alone, in this process: one INSERT per call, as a request writes it; and sealing the
   records into the hash chain, as the beat job does.
3. Growth: bytes the log's table and indexes take per record (one customer each, what a detail page
   writes, and 50, what a list page writes), per million records.
4. Verification of the whole chain: records per second.
5. The monthly review of a month of ``--review-records`` records (1M), for the page and as CSV.
6. A data-subject request for a customer with ``--interactions`` interactions (10,000): export (JSON and
   CSV) and erasure, timed.
"""

import argparse
import os
import random
import statistics
import time
from collections.abc import Iterator
from typing import Any

from _harness import (
    Request,
    cpu_seconds_since,
    django_setup,
    load,
    print_json,
    server,
    server_and_database_cpu,
    table_rows,
)

ENDPOINT = "/api/v1/customers/{id}/timeline/"


def _relation_bytes(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size(%s)", [table])
        return int(cursor.fetchone()[0])


def _prepare(args: argparse.Namespace) -> tuple[str, list[int]]:
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from crm.models import User
    from crm.roles import Role
    from customers.models import Customer
    from tests.factories import CustomerFactory

    if table_rows("customers_customer") < args.customers and Customer.objects.count() < args.customers:
        CustomerFactory.create_batch(args.customers - Customer.objects.count())
    user, _ = User.objects.get_or_create(username="bench-privacy-rep")
    user.groups.add(Group.objects.get(name=Role.SERVICE_REP))
    token, _ = Token.objects.get_or_create(user=user)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(7)
    candidates = {rng.randint(1, top) for _ in range(args.sample * 2)}
    ids = list(Customer.objects.filter(pk__in=candidates).values_list("pk", flat=True)[: args.sample])
    return token.key, ids


def _requests(token: str, ids: list[int], per_client: int) -> Any:
    def make(number: int) -> Iterator[Request]:
        rng = random.Random(number)
        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        for _ in range(per_client):
            yield "GET", ENDPOINT.format(id=rng.choice(ids)), None, headers

    return make


def _each(token: str, ids: list[int]) -> Iterator[Request]:
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    for pk in ids:
        yield "GET", ENDPOINT.format(id=pk), None, headers


def _measure(port: int, clients: int, requests: Any) -> dict[str, float]:
    """One run: latency and throughput, and the CPU the requests cost the server and the database."""
    from django.db import connection

    database = connection.settings_dict["NAME"]
    before = server_and_database_cpu(port, database)
    run = load(port, clients, requests)
    after = server_and_database_cpu(port, database)
    assert set(run.statuses) == {200}, run.statuses
    served = max(1, len(run.latencies))
    figures = run.summary()
    figures["server CPU ms"] = cpu_seconds_since(before[0], after[0]) / served * 1000
    figures["database CPU ms"] = cpu_seconds_since(before[1], after[1]) / served * 1000
    return figures


def _http(args: argparse.Namespace, token: str, ids: list[int]) -> dict[str, Any]:
    """With and without the log, alternated: one client alone (a request's own time, no queue), then
    ``--clients`` at once (the machine saturated: every request also waits for the others)."""
    from customers.privacy.models import AccessRecord

    loads = {"1 client": 1, f"{args.clients} clients": args.clients}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    id_before = AccessRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
    bytes_before = _relation_bytes("customers_accessrecord")
    with server(workers=args.workers) as port:
        # Every sample customer's page read once, so that neither variant pays for the first reads of
        # pages from disk (the first one measured would, and the difference would be the disk's).
        load(port, 4, lambda number: _each(token, ids[number::4]))
    for _round in range(args.rounds):
        for variant, wsgi in (("with log", "crm.wsgi"), ("without log", "_privacy_nolog_wsgi")):
            with server(workers=args.workers, wsgi=wsgi) as port:
                load(port, 2, _requests(token, ids, 20))  # warm the workers' connections
                for label, clients in loads.items():
                    run = _measure(port, clients, _requests(token, ids, args.requests))
                    runs.setdefault((label, variant), []).append(run)
    written = AccessRecord.objects.filter(id__gt=id_before).count()
    figures: dict[str, Any] = {"customers (estimate)": table_rows("customers_customer")}
    keys = ("p50_ms", "p95_ms", "mean_ms", "rps", "server CPU ms", "database CPU ms")
    for (label, variant), summaries in runs.items():
        for key in keys:
            figures[f"{label}, {variant}: {key}"] = statistics.median(s[key] for s in summaries)
    for label in loads:
        for key in ("p50_ms", "mean_ms"):
            cost = figures[f"{label}, with log: {key}"] - figures[f"{label}, without log: {key}"]
            figures[f"{label}: log cost {key.removesuffix('_ms')} (ms)"] = cost
        cpu = sum(
            figures[f"{label}, with log: {key}"] - figures[f"{label}, without log: {key}"]
            for key in ("server CPU ms", "database CPU ms")
        )
        figures[f"{label}: log cost in CPU, server + database (ms)"] = cpu
    figures["records written"] = written
    grown = _relation_bytes("customers_accessrecord") - bytes_before
    figures["MB per million records (table + indexes)"] = grown / written if written else float("nan")
    return figures


def _append(args: argparse.Namespace) -> dict[str, Any]:
    from customers.privacy.chain import chain_seal, chain_verify, record_write
    from customers.privacy.models import AccessRecord

    chain_seal()
    before = _relation_bytes("customers_accessrecord")
    started = time.perf_counter()
    for n in range(args.appends):
        record_write(
            user_id=1,
            username="bench",
            ip="10.1.2.3",
            action="view",
            route="GET api:customer-detail",
            customer_ids=[n + 1],
        )
    one = (time.perf_counter() - started) / args.appends
    grown_one = _relation_bytes("customers_accessrecord") - before
    before = _relation_bytes("customers_accessrecord")
    started = time.perf_counter()
    for n in range(args.appends):
        record_write(
            user_id=1,
            username="bench",
            ip="10.1.2.3",
            action="search",
            route="GET api:customer-list",
            customer_ids=range(n * 50 + 1, n * 50 + 51),
        )
    fifty = (time.perf_counter() - started) / args.appends
    grown_fifty = _relation_bytes("customers_accessrecord") - before
    started = time.perf_counter()
    sealed = chain_seal()
    seal = time.perf_counter() - started
    started = time.perf_counter()
    checked, problems = chain_verify()
    verify = time.perf_counter() - started
    return {
        "write, 1 customer (ms)": one * 1000,
        "write, 50 customers (ms)": fifty * 1000,
        "MB per million 1-customer records": grown_one / args.appends,
        "MB per million 50-customer records": grown_fifty / args.appends,
        "seal: records per second": sealed / seal if seal else float("nan"),
        "records in the log": AccessRecord.objects.count(),
        "verify: records per second": checked / verify if verify else float("nan"),
        "verify: problems": len(problems),
    }


def _review(args: argparse.Namespace) -> dict[str, Any]:
    """The monthly review over a month of ``--review-records`` records (200 accounts, one customer each,
    spread evenly over March 2020, one in a thousand a download), written and rolled back in one
    transaction so that the log keeps none of them."""
    import datetime as dt

    from django.db import connection, transaction

    from customers.privacy.review import access_review, review_csv_rows

    count = args.review_records
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO customers_accessrecord (at, user_id, username, ip, action, route, customer_ids, "
                "customer_count, reason, prev_hash, hash) "
                "SELECT timestamptz '2020-03-01 00:00+09' + g * (interval '31 days' / %s), 100000 + g %% 200, "
                "'rep' || (g %% 200), '10.0.0.1', CASE WHEN g %% 1000 = 0 THEN 'download' ELSE 'view' END, "
                "'GET bench', jsonb_build_array(1 + (g::bigint * 7919) %% 1000000), 1, "
                "CASE WHEN g %% 1000 = 0 THEN 'benchmark' ELSE '' END, '', '' "
                "FROM generate_series(0, %s - 1) AS g",
                [count, count],
            )
        started = time.perf_counter()
        review = access_review(month=dt.date(2020, 3, 1), rows_limit=500)
        page = time.perf_counter() - started
        started = time.perf_counter()
        rows = sum(1 for _ in review_csv_rows(access_review(month=dt.date(2020, 3, 1))))
        csv_time = time.perf_counter() - started
        transaction.set_rollback(True)
    return {
        "records in the month": count,
        "accounts": len(review.users),
        "off-hours records": review.off_hours_total,
        "review for the page (s)": page,
        "review as CSV (s)": csv_time,
        "CSV rows": rows,
    }


def _subject(args: argparse.Namespace) -> dict[str, Any]:
    import datetime as dt

    from django.utils import timezone

    from customers.models import Customer, CustomerIdentity, Interaction, SourceSystem
    from customers.privacy.subject import customer_data_export, customer_erase, export_csv_lines, export_json

    source, _ = SourceSystem.objects.get_or_create(
        code="bench-privacy", defaults={"name": "Privacy benchmark"}
    )
    customer = Customer.objects.create(
        name="Bench Person", email=f"bench.{time.time_ns()}@example.kr", phone="010-5555-1234"
    )
    CustomerIdentity.objects.create(customer=customer, source_system=source, external_id=f"BP-{customer.pk}")
    now = timezone.now()
    Interaction.objects.bulk_create(
        (
            Interaction(
                customer=customer,
                source_system=source,
                external_id=f"BP-{customer.pk}-{n}",
                kind="web_visit",
                channel="web",
                occurred_at=now - dt.timedelta(minutes=n),
                summary=f"visit {n} by Bench Person",
                properties={"page": "/shoes", "email": customer.email} if n % 10 == 0 else {"page": "/shoes"},
            )
            for n in range(args.interactions)
        ),
        batch_size=2000,
    )
    started = time.perf_counter()
    data = customer_data_export(customer=customer)
    export_json(data)
    exported = time.perf_counter() - started
    started = time.perf_counter()
    csv_bytes = sum(len(chunk) for chunk in export_csv_lines(data))
    csv_time = time.perf_counter() - started
    started = time.perf_counter()
    summary = customer_erase(customer=customer)
    erased = time.perf_counter() - started
    return {
        "interactions": len(data["interactions"]),
        "export JSON (s)": exported,
        "export CSV (s)": csv_time,
        "CSV size (MB)": csv_bytes / 1e6,
        "erase (s)": erased,
        "properties scrubbed": summary["interaction_properties"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="a small run that only proves the benchmark works")
    parser.add_argument(
        "--customers", type=int, default=1_000_000, help="at least this many (seeded if fewer)"
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=500, help="per client and run")
    parser.add_argument("--rounds", type=int, default=3, help="with/without alternations")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--sample", type=int, default=5000, help="customers the clients pick from")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--review-records", type=int, default=1_000_000, help="records of the reviewed month")
    args = parser.parse_args()
    if args.ci:
        args.customers, args.requests, args.rounds, args.workers = 200, 30, 1, 2
        args.sample, args.appends, args.interactions, args.clients = 100, 100, 1000, 4
        args.review_records = 2000
    # The server and this process must share the chain's key, so that this process verifies what the
    # server wrote.
    os.environ.setdefault("CRM_ACCESS_LOG_KEY", "benchmark-access-log-key")
    django_setup()
    token, ids = _prepare(args)
    print_json(
        f"Timeline API ({ENDPOINT}), {args.clients} clients × {args.requests} requests",
        _http(args, token, ids),
    )
    print_json("Access log append and growth (in process)", _append(args))
    print_json("Monthly review of the access log", _review(args))
    print_json("Data-subject request", _subject(args))


if __name__ == "__main__":
    main()
