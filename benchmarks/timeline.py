"""The single customer view under load: the timeline API, the customer page and customer search.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python benchmarks/timeline.py
    DATABASE_URL=... python benchmarks/timeline.py --ci      # small, for CI

The database is prepared with ``seed_demo`` when it holds fewer customers than ``--customers``
(1M customers with 20M interactions by default: that takes a while once, then is reused). The server is
gunicorn with production settings; ``--clients`` concurrent keep-alive clients (8) each ask for random
customers:

- ``GET /api/v1/customers/{id}/timeline/``: the 50 newest items, with a token (an integration);
- ``GET /customers/{id}/``: the staff customer page (HTML), with a rep's session;
- ``GET /customers/?q=...`` as htmx asks while a rep types: names (three Korean characters, or the first
  one or two), emails, phones written in another format than stored, and ids in source systems.

Each phase is warmed up first, then measured; queries per request are counted in this process on the
same requests. Targets (DESIGN.md): timeline API p95 under 25 ms and over 400 requests/s with at most 4
queries; page p95 under 60 ms; search p95 under 30 ms.
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from _harness import (
    ROOT,
    Request,
    cpu_reference,
    cpu_seconds_since,
    django_setup,
    load,
    print_json,
    server,
    server_and_database_cpu,
    table_rows,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", action="store_true", help="a small run that only proves the benchmark works")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400, help="requests per client and phase")
    parser.add_argument(
        "--workers",
        type=int,
        default=3,
        help="gunicorn workers (3 served the API and the page best on two cores shared with the database, "
        "Redis and the clients; gunicorn's 2 x cores + 1 suits a server whose database is elsewhere)",
    )
    parser.add_argument(
        "--only", choices=["api", "page", "search"], action="append", help="measure only these phases"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    args = parser.parse_args()
    # Stopped with SIGTERM, still stop the server and remove the static files (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    if args.ci:
        args.customers, args.requests, args.clients, args.workers = 300, 10, 2, 2
    # Sessions are signed: this process signs the rep's with the key the server checks it with.
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)

    django_setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from crm.models import User
    from crm.roles import Role
    from customers.models import Customer

    if (
        table_rows("customers_customer") < args.customers * 0.9
        and Customer.objects.count() < args.customers * 0.9
    ):
        call_command("seed_demo", customers=args.customers, interactions=20, reset=True, verbosity=1)

    integration, _ = User.objects.get_or_create(username="bench-integration")
    integration.groups.add(Group.objects.get(name=Role.INTEGRATION))
    token, _ = Token.objects.get_or_create(user=integration)
    rep, _ = User.objects.get_or_create(username="bench-rep")
    rep.groups.add(Group.objects.get(name=Role.SERVICE_REP))
    browser = Client()
    browser.force_login(rep)
    session = browser.cookies["sessionid"].value

    rng = random.Random(4)
    sample = _sample_customers(2000 if not args.ci else 200)
    ids = [row[0] for row in sample]
    terms = _search_terms(sample, rng)
    api_headers = {"Authorization": f"Token {token.key}", "Accept": "application/json"}
    page_headers = {"Cookie": f"sessionid={session}"}
    search_headers = {**page_headers, "HX-Request": "true"}

    phases: list[tuple[str, Callable[[], str], dict[str, str], str]] = [
        (
            "timeline API, 50 newest items",
            lambda: f"/api/v1/customers/{rng.choice(ids)}/timeline/",
            api_headers,
            "api",
        ),
        ("customer page (HTML)", lambda: f"/customers/{rng.choice(ids)}/", page_headers, "page"),
        (
            "customer search (htmx, as typed)",
            lambda: "/customers/?" + _query(rng.choice(terms)),
            search_headers,
            "search",
        ),
    ]
    phases = [phase for phase in phases if not args.only or phase[3] in args.only]
    data_size = {
        "customers": f"{table_rows('customers_customer'):,}",
        "interactions": f"{table_rows('customers_interaction'):,}",
        "purchase lines": f"{table_rows('customers_purchaseline'):,}",
    }
    print_json("Data", data_size)

    failed = False
    static_root = tempfile.mkdtemp(prefix="crm-bench-static-")
    production = {"CRM_ENV": "production", "ALLOWED_HOSTS": "127.0.0.1", "STATIC_ROOT": static_root}
    subprocess.run(  # production serves hashed static files: the pages need the manifest
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env={**os.environ, **production},
        check=True,
    )
    try:
        failed = _measure(args, phases, static_root, ids, terms, token.key, browser)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    if failed:
        sys.exit("some requests failed")


def _measure(
    args: Any, phases: list[Any], static_root: str, ids: list[int], terms: list[str], token: str, browser: Any
) -> bool:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    failed = False
    with server(workers=args.workers, threads=args.threads, env={"STATIC_ROOT": static_root}) as port:
        for title, make, headers, kind in phases:
            queries = _queries_per_request(
                kind, ids[:20], terms[:20], token, browser, connection, CaptureQueriesContext
            )
            reference = cpu_reference()
            load(port, args.clients, _paths(make, headers, max(5, args.requests // 4)))  # warm-up
            before = server_and_database_cpu(port, connection.settings_dict["NAME"])
            run = load(port, args.clients, _paths(make, headers, args.requests))
            cpu, database = (
                cpu_seconds_since(*pair)
                for pair in zip(
                    before, server_and_database_cpu(port, connection.settings_dict["NAME"]), strict=True
                )
            )
            figures = run.summary()
            print_json(
                f"{title}: {args.clients} clients x {args.requests} requests, {args.workers} gunicorn workers",
                {
                    "requests": f"{int(figures['requests']):,}",
                    "statuses": str(run.statuses),
                    "requests/s": figures["rps"],
                    "p50 ms": figures["p50_ms"],
                    "p95 ms": figures["p95_ms"],
                    "p99 ms": figures["p99_ms"],
                    "queries per request": queries,
                    "server CPU ms per request": cpu * 1000 / max(1, len(run.latencies)),
                    "PostgreSQL CPU ms per request": database * 1000 / max(1, len(run.latencies)),
                    "reference loop ms (before the phase)": reference,
                },
            )
            failed = failed or set(run.statuses) != {200}
    return failed


def _paths(
    make: Callable[[], str], headers: dict[str, str], count: int
) -> Callable[[int], Iterator[Request]]:
    def requests(client: int) -> Iterator[Request]:
        for _ in range(count):
            yield "GET", make(), None, headers

    return requests


def _sample_customers(limit: int) -> list[tuple[int, str, str, str, str]]:
    """Random active customers with interactions: id, name, email, phone, an external id (a block sample
    of the table, instant on any size)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.id, c.name, c.email, c.phone,
                   (SELECT external_id FROM customers_customeridentity i WHERE i.customer_id = c.id LIMIT 1)
            FROM customers_customer c TABLESAMPLE SYSTEM (5) REPEATABLE (7)
            WHERE c.status = 'active'
              AND EXISTS (SELECT 1 FROM customers_interaction x WHERE x.customer_id = c.id)
            LIMIT %s
            """,
            [limit],
        )
        return list(cursor.fetchall())


def _search_terms(sample: list[tuple[Any, ...]], rng: random.Random) -> list[str]:
    """What reps type: whole and partial names, emails, phones in another format, source-system ids."""
    terms: list[str] = []
    for _, name, email, phone, external_id in sample:
        if name:
            terms += [name, name[: rng.choice([1, 2])]]  # the whole name, and the first keystrokes
        if email:
            terms.append(email.upper())
        digits = "".join(ch for ch in phone or "" if ch.isdigit())
        if digits.startswith("010"):
            terms.append(f"+82 10 {digits[3:7]} {digits[7:]}")
        if external_id:
            terms.append(external_id)
    rng.shuffle(terms)
    return terms


def _query(term: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": term})


def _queries_per_request(
    kind: str, ids: list[int], terms: list[str], token: str, browser: Any, connection: Any, capture: Any
) -> str:
    """The number of queries of the phase's requests, counted in this process (min–max over a few)."""
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    counts = []
    for n in range(len(ids)):
        with capture(connection) as queries:
            if kind == "api":
                api.get(f"/api/v1/customers/{ids[n]}/timeline/")
            elif kind == "page":
                browser.get(f"/customers/{ids[n]}/")
            else:
                browser.get("/customers/?" + _query(terms[n % len(terms)]), HTTP_HX_REQUEST="true")
        counts.append(len(queries))
    return f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"


if __name__ == "__main__":
    main()
