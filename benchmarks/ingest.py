"""Event ingestion through the bulk API: events per second, batches of 1,000, 4 concurrent clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench python benchmarks/ingest.py
    DATABASE_URL=... python benchmarks/ingest.py --ci      # small, for CI

The database is prepared with ``seed_demo`` when it holds fewer customers than ``--customers``
(1M customers with 20M interactions by default: that takes a while once, then is reused). The server is
gunicorn with production settings; a Celery worker on Redis does the downstream work (analytics) while
the clients push, as in production, and the time it takes to drain the outbox after the last batch is
reported too. Each gunicorn worker is warmed up with a few small batches first; the CPU of a batch is
printed by process (gunicorn, PostgreSQL, the Celery worker, the clients). Target (DESIGN.md): over
15,000 events/s into 20M rows.

Then a CSV import of ``--csv-rows`` events (1M by default) is timed as the Celery task runs it
(``import_run``), in this process; the outbox it leaves (analytics) is drained afterwards and timed apart.
Target: over 50,000 rows/s.
"""

import argparse
import contextlib
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _harness import (
    ROOT,
    Request,
    cpu_seconds_since,
    django_setup,
    dumps,
    load,
    pid_cpu_seconds,
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
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batches", type=int, default=25, help="batches per client")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["api", "csv"], help="run one of the two measurements")
    parser.add_argument(
        "--drain-seconds",
        type=float,
        default=600,
        help="how long to wait for the outbox after the batches, and to relay the import's",
    )
    args = parser.parse_args()
    if args.ci:
        args.customers, args.batches, args.batch_size, args.csv_rows = 300, 3, 200, 20_000
    # This process enqueues nothing to run inline: the CSV import is run and timed by hand below.
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")

    django_setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from crm.models import OutboxMessage, User
    from crm.roles import Role
    from customers.models import Customer, CustomerIdentity, SourceSystem

    if (
        table_rows("customers_customer") < args.customers * 0.9
        and Customer.objects.count() < args.customers * 0.9
    ):
        call_command("seed_demo", customers=args.customers, interactions=20, reset=True, verbosity=1)
    SourceSystem.objects.get_or_create(
        code="bench",
        defaults={"name": "Benchmark source", "kind": "ecommerce", "trust_email": True, "trust_phone": True},
    )
    user, _ = User.objects.get_or_create(username="bench-integration")
    user.groups.add(Group.objects.get(name=Role.INTEGRATION))
    token, _ = Token.objects.get_or_create(user=user)
    skus = list(
        __import__("crm.models", fromlist=["Product"]).Product.objects.values_list("sku", flat=True)[:2000]
    )
    known = list(
        CustomerIdentity.objects.select_related("source_system")
        .order_by("?")
        .values_list("source_system__code", "external_id")[:20000]
        if args.ci
        else _sample_identities(20000)
    )
    interactions_before = table_rows("customers_interaction")
    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(7)
    kinds = (
        ["web_visit"] * 35
        + ["app_visit"] * 20
        + ["purchase"] * 20
        + ["product_view"] * 15
        + ["service_call"] * 5
        + ["survey"] * 5
    )

    def batch(client: int, number: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for n in range(args.batch_size):
            kind = rng.choice(kinds)
            if known and rng.random() < 0.7:
                customer_source, customer_id = rng.choice(known)
                customer = {"source": customer_source, "id": customer_id}
            else:
                customer = {
                    "source": "bench",
                    "id": f"{run_id}-{client}-{number}-{n}",
                    "email": f"b{run_id}{client}{number}{n}@bench.example.kr",
                }
            event: dict[str, Any] = {
                "source": "bench",
                "external_id": f"{run_id}-{client}-{number}-{n}",
                "customer": customer,
                "kind": kind,
                "channel": {"web_visit": "web", "app_visit": "app", "purchase": "web"}.get(kind, "web"),
                "occurred_at": "2026-11-20T14:03:00+09:00",
                "summary": "benchmark event",
                "properties": {"page": "/products/123", "campaign": "winter"},
            }
            if kind == "purchase" and skus:
                event["currency"] = "KRW"
                event["lines"] = [{"sku": rng.choice(skus), "quantity": 1} for _ in range(rng.randint(1, 3))]
            if kind == "survey":
                event["nps_score"] = rng.randint(0, 10)
            events.append(event)
        return events

    if args.only == "csv":
        csv_import(args.csv_rows, skus, user, args.drain_seconds)
        return
    bodies = {c: [dumps(batch(c, b)) for b in range(args.batches)] for c in range(args.clients)}
    warm_up = {c: [dumps(batch(c, args.batches + b)[:20]) for b in range(3)] for c in range(args.clients)}
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token.key}"}

    def requests(client: int) -> Iterator[Request]:
        for body in bodies[client]:
            yield "POST", "/api/v1/events/", body, headers

    broker = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")
    env = {"CELERY_BROKER_URL": broker}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            "celery",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    try:
        with server(workers=args.workers, env=env) as port:
            from django.db import connection

            database = connection.settings_dict["NAME"]
            # Each worker's first requests load the application and open its connections: not a batch's
            # cost in a long-running server. Small batches of their own events, before the clock starts.
            warmed = load(
                port,
                args.clients,
                lambda client: iter([("POST", "/api/v1/events/", body, headers) for body in warm_up[client]]),
            )
            if warmed.statuses.keys() != {200}:
                sys.exit(f"the warm-up batches failed: {warmed.statuses}")
            backlog = OutboxMessage.objects.filter(processed_at__isnull=True).count()
            before = (*server_and_database_cpu(port, database), _worker_cpu(worker.pid))
            clients_before = time.process_time()
            run = load(
                port,
                args.clients,
                requests,
                on_response=lambda status, payload: __import__("json").loads(payload).get("created", 0),
            )
            created = sum(run.extra)
            clients_cpu = time.process_time() - clients_before
            after = (*server_and_database_cpu(port, database), _worker_cpu(worker.pid))
            gunicorn_cpu, database_cpu, relay_cpu = (
                cpu_seconds_since(earlier, later) for earlier, later in zip(before, after, strict=True)
            )
            drained_started = time.perf_counter()
            deadline = time.monotonic() + (60 if args.ci else args.drain_seconds)
            while (
                OutboxMessage.objects.filter(processed_at__isnull=True).exists()
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            drain = time.perf_counter() - drained_started
            pending = OutboxMessage.objects.filter(processed_at__isnull=True).count()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:  # stuck in a long task: the figures are measured, print them
            worker.kill()
            worker.wait()

    figures = run.summary()
    print_json(
        f"Bulk event ingestion, {args.clients} clients, batches of {args.batch_size}, {args.workers} gunicorn workers",
        {
            "interactions before": f"{interactions_before:,}",
            "customers": f"{table_rows('customers_customer'):,}",
            "events sent": f"{args.clients * args.batches * args.batch_size:,}",
            "events created": f"{created:,}",
            "statuses": str(run.statuses),
            "events/s": created / run.elapsed,
            "batch p50 ms": figures["p50_ms"],
            "batch p95 ms": figures["p95_ms"],
            "batch p99 ms": figures["p99_ms"],
            # Where the two cores went while the clients pushed, per batch: the server's Python, every
            # backend of the database (the relay's included), the Celery worker's Python, the clients.
            "CPU ms a batch: gunicorn / PostgreSQL / Celery worker / clients": " / ".join(
                f"{seconds / (args.clients * args.batches) * 1e3:.0f}"
                for seconds in (gunicorn_cpu, database_cpu, relay_cpu, clients_cpu)
            ),
            "outbox messages pending before": f"{backlog:,}",
            "outbox drained after (s)": drain,
            "outbox messages pending": pending,
        },
    )
    if run.statuses.keys() != {200} or created != args.clients * args.batches * args.batch_size:
        sys.exit("some batches failed")
    if args.only != "api":
        csv_import(args.csv_rows, skus, user, args.drain_seconds)


def csv_import(rows: int, skus: list[str], user: Any, drain_seconds: float) -> None:
    """Time a CSV import of ``rows`` events as the Celery task runs it, then relay its outbox for at
    most ``drain_seconds``."""
    import csv
    import tempfile

    from django.core.files import File

    from crm.outbox import outbox_relay
    from customers.imports import import_create, import_run, import_start, mapping_suggest
    from customers.models import ImportJob, SourceSystem

    source, _ = SourceSystem.objects.get_or_create(
        code="bench-csv", defaults={"name": "Benchmark CSV source", "kind": "pos"}
    )
    run_id = uuid.uuid4().hex[:8]
    rng = random.Random(11)
    header = [
        "external_id",
        "customer_id",
        "kind",
        "channel",
        "occurred_at",
        "amount",
        "currency",
        "summary",
        "sku",
        "quantity",
    ]
    with tempfile.NamedTemporaryFile(
        "w", suffix=".csv", newline="", encoding="utf-8", delete=False
    ) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n in range(rows):
            customer = f"{run_id}-C{rng.randrange(max(rows // 5, 1))}"
            if skus and rng.random() < 0.25:
                writer.writerow(
                    [
                        f"{run_id}-{n}",
                        customer,
                        "purchase",
                        "store",
                        "2026-11-20T14:03:00+09:00",
                        "",
                        "KRW",
                        "구매",
                        rng.choice(skus),
                        rng.randint(1, 3),
                    ]
                )
            else:
                writer.writerow(
                    [
                        f"{run_id}-{n}",
                        customer,
                        rng.choice(["web_visit", "app_visit", "product_view"]),
                        "web",
                        "2026-11-20T14:03:00+09:00",
                        "",
                        "",
                        "방문",
                        "",
                        "",
                    ]
                )
        path = handle.name
    size = os.path.getsize(path)
    interactions_before = table_rows("customers_interaction")
    with open(path, "rb") as upload:
        job = import_create(
            upload=File(upload, name="bench.csv"), kind="events", source_system=source, user=user
        )
    import_start(job=job, mapping=mapping_suggest(kind="events", header=header))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), pg_current_wal_lsn()")
        backend, wal_started = cursor.fetchone()
    watcher = _Backends(exclude=backend)
    started, cpu_started, backend_started = time.perf_counter(), time.process_time(), pid_cpu_seconds(backend)
    with watcher:
        while import_run(job_id=job.pk) not in {"completed", "failed"}:
            pass
    elapsed = time.perf_counter() - started
    python_cpu = time.process_time() - cpu_started - watcher.cpu_seconds
    backend_cpu = pid_cpu_seconds(backend) - backend_started + watcher.backends_cpu
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", [wal_started])
        wal = float(cursor.fetchone()[0])
    job = ImportJob.objects.get(pk=job.pk)
    drain_started = time.perf_counter()
    while time.perf_counter() - drain_started < drain_seconds and outbox_relay():
        pass
    drain = time.perf_counter() - drain_started
    from crm.models import OutboxMessage

    pending = OutboxMessage.objects.filter(processed_at__isnull=True).count()
    os.unlink(path)
    print_json(
        "CSV import of events (the Celery task's work, in this process)",
        {
            "interactions before": f"{interactions_before:,}",
            "file": f"{rows:,} rows, {size / 1e6:.1f} MB",
            "status": job.status,
            "created / duplicates / rejected": f"{job.created_rows:,} / {job.duplicate_rows:,} / {job.rejected_rows:,}",
            "seconds": elapsed,
            "rows/s": rows / elapsed,
            "CPU s: this process / its PostgreSQL backend": f"{python_cpu:.1f} / {backend_cpu:.1f}",
            "CPU µs a row: this process / PostgreSQL": f"{python_cpu / rows * 1e6:.1f} / {backend_cpu / rows * 1e6:.1f}",
            "PostgreSQL backends": watcher.count + 1,
            "WAL written, bytes a row (the whole server's)": f"{wal / rows:,.0f}",
            "analytics from its outbox (s)": drain,
            "outbox messages pending": pending,
        },
    )
    if job.status != "completed" or job.created_rows != rows:
        sys.exit("the CSV import did not create every row")


class _Backends:
    """The CPU of the other PostgreSQL backends of this database while the block runs (an import stores
    its chunks on connections of its own, opened and closed inside it): polled from
    ``pg_stat_activity`` and ``/proc`` on a connection of its own, whose CPU (``cpu_seconds``, this
    process's) is left out of the import's. The benchmark's database is its own, so every client backend
    on it but ``exclude`` is the import's."""

    def __init__(self, exclude: int) -> None:
        self.exclude, self.cpu_seconds = exclude, 0.0
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()

    @property
    def count(self) -> int:
        return len(self.seen)

    @property
    def backends_cpu(self) -> float:
        return sum(self.seen.values())

    def __enter__(self) -> "_Backends":
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        from django.db import connection

        started = time.thread_time()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            own = cursor.fetchone()[0]
            while not self._stop.wait(0.1):
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> ALL(%s)",
                    [[own, self.exclude]],
                )
                for (pid,) in cursor.fetchall():
                    with contextlib.suppress(FileNotFoundError):  # gone since: its last reading stands
                        self.seen[pid] = pid_cpu_seconds(pid)
        connection.close()
        self.cpu_seconds = time.thread_time() - started


def _worker_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by this benchmark's Celery worker and its pool's processes (not any other
    Celery worker on the machine), per process."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {process: pid_cpu_seconds(process) for process in [pid, *map(int, children)]}


def _sample_identities(limit: int) -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.code, i.external_id FROM customers_customeridentity i TABLESAMPLE SYSTEM (1) "
            "JOIN customers_sourcesystem s ON s.id = i.source_system_id LIMIT %s",
            [limit],
        )
        return list(cursor.fetchall())


if __name__ == "__main__":
    main()
