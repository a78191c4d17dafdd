"""The context every app's ``demo`` module seeds with, and the helpers that load rows fast.

Rows are written with ``SeedContext.copy_rows``: PostgreSQL's COPY on PostgreSQL, batched inserts on
SQLite. Values in the rows are already in the database's text form (timestamps from ``SeedContext.clock``,
decimals and JSON as strings), so that generators pay for formatting once and both paths accept them.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

T = TypeVar("T")

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed on purpose: it is the demo's shared login
STAFF_LOGIN_URL = "/accounts/login/"
ADMIN_URL = "/admin/"
EXTRANET_LOGIN_URL = "/extranet/login/"


@dataclass(frozen=True)
class SeedOptions:
    """What to seed: sizes, the random seed, and the logins' password."""

    customers: int = 2000
    interactions: int = 20  # on average per customer
    suppliers: int = 40
    products: int = 1000
    seed: int = 2026
    password: str = DEMO_PASSWORD
    users: bool = True


@dataclass(frozen=True)
class DemoLogin:
    """A login the demo creates, as printed at the end of seeding."""

    username: str
    role: str
    where: str


class Clock:
    """Turns epoch seconds into the database's timestamp text fast, from precomputed day and time strings.

    Formatting a ``datetime`` costs microseconds; a lookup in two lists costs tens of nanoseconds, which
    matters for twenty million rows. Hot loops read ``start``, ``days`` and ``times`` into locals and
    compute ``days[(t - start) // 86400] + times[(t - start) % 86400]`` themselves.
    Text is UTC: with an explicit ``+00`` on PostgreSQL; naive on SQLite, which is how Django stores
    aware datetimes there (and compares them as text).
    """

    def __init__(self, now: dt.datetime, *, years_back: int, postgresql: bool) -> None:
        utc_now = now.astimezone(dt.UTC)
        first_day = utc_now.date() - dt.timedelta(days=366 * years_back + 2)
        self.now = int(utc_now.timestamp())
        self.start = int(dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC).timestamp())
        # A few days past today, so that "now" plus a small delay is still in range.
        self.days = [
            (first_day + dt.timedelta(days=n)).isoformat() + " "
            for n in range((self.now - self.start) // 86400 + 8)
        ]
        suffix = "+00" if postgresql else ""
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86400)]
        local_now = timezone.localtime(now)
        # Epoch seconds of today's local midnight: activity is drawn as a local day plus a local time of day.
        self.local_midnight = int(local_now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())

    def text(self, epoch: int) -> str:
        """The timestamp text of ``epoch`` (seconds since 1970, UTC)."""
        offset = epoch - self.start
        return self.days[offset // 86400] + self.times[offset % 86400]


class SeedContext:
    """What each app's ``seed(ctx)`` receives: options, randomness, the connection and loading helpers.

    ``rng`` is the one source of randomness, so that a seed gives the same data every time.
    ``shared`` carries ids from one app to those to its right (for example ``"crm.catalog"``).
    """

    def __init__(
        self,
        *,
        options: SeedOptions,
        connection: BaseDatabaseWrapper,
        write: Callable[[str], None],
        now: dt.datetime | None = None,
        verbosity: int = 1,
    ) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.connection = connection
        self.now = now or timezone.now()
        self.write = write
        self.verbosity = verbosity
        self.postgresql = connection.vendor == "postgresql"
        self.clock = Clock(self.now, years_back=6, postgresql=self.postgresql)
        self.shared: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        # Tables emptied by TRUNCATE in this transaction: COPY may load them frozen (see copy_rows).
        self.truncated: set[str] = set()

    def password_hash(self) -> str:
        """The demo password, hashed once for every login: hashing is slow on purpose, and one salted hash
        verifies the same password for any user."""
        if "crm.password_hash" not in self.shared:
            self.shared["crm.password_hash"] = make_password(self.options.password)
        password_hash: str = self.shared["crm.password_hash"]
        return password_hash

    # --- Reporting ----------------------------------------------------------------------------------

    def log(self, message: str, *, level: int = 1) -> None:
        """Print a progress line when the command's verbosity asks for it."""
        if self.verbosity >= level:
            self.write(message)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase of seeding and print how long it took."""
        self.log(f"{name}...")
        started = time.perf_counter()
        yield
        self.log(f"{name}: {time.perf_counter() - started:.1f} s")

    # --- Loading rows -------------------------------------------------------------------------------

    def copy_rows(
        self, model_or_table: type[models.Model] | str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> int:
        """Insert rows (tuples in ``columns`` order) into a table; return how many were written.

        PostgreSQL: one COPY; psycopg formats each row in C. A table truncated earlier in this same
        transaction is loaded ``FREEZE``: its rows are born visible to all, so that the first readers
        and vacuum do not rewrite every page to set hint bits. SQLite: ``executemany`` in batches.
        """
        table = model_or_table if isinstance(model_or_table, str) else model_or_table._meta.db_table
        quote = self.connection.ops.quote_name
        column_list = ", ".join(quote(column) for column in columns)
        count = 0
        with self.connection.cursor() as cursor:
            if self.postgresql:
                # FREEZE is refused inside a savepoint: only the outermost transaction truncated the table.
                freeze = table in self.truncated and not self.connection.savepoint_ids
                statement = f"COPY {quote(table)} ({column_list}) FROM STDIN" + (
                    " (FREEZE)" if freeze else ""
                )
                with cursor.cursor.copy(statement) as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
                        count += 1
            else:
                placeholders = ", ".join(["%s"] * len(columns))
                # Only quoted names of the models' tables and columns are formatted in; values are parameters.
                sql = f"INSERT INTO {quote(table)} ({column_list}) VALUES ({placeholders})"  # noqa: S608
                batch: list[Sequence[Any]] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == 5000:
                        cursor.executemany(sql, batch)
                        count += len(batch)
                        batch = []
                if batch:
                    cursor.executemany(sql, batch)
                    count += len(batch)
        self.counts[table] = self.counts.get(table, 0) + count
        return count

    def next_id(self, model: type[models.Model]) -> int:
        """The first free primary key of a table, for generators that assign ids themselves.

        Assigning ids in Python lets child rows (purchase lines) point at their parents without a round
        trip; ``sync_sequences`` then moves the sequence past them. The seed command holds the tables
        locked, so no one else takes these ids meanwhile.
        """
        quote = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            table, column = quote(model._meta.db_table), quote(model._meta.pk.column)
            cursor.execute(f"SELECT COALESCE(MAX({column}), 0) + 1 FROM {table}")  # noqa: S608 - quoted names
            return int(cursor.fetchone()[0])

    def sync_sequences(self, *model_list: type[models.Model]) -> None:
        """Move the id sequences past the ids that were assigned in Python (nothing to do on SQLite)."""
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(model_list))
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    @contextmanager
    def bulk_load(self, *model_list: type[models.Model]) -> Iterator[None]:
        """On PostgreSQL, load the tables without their secondary indexes, unique and foreign-key
        constraints, and rebuild them afterwards: one sort per index and one join per foreign key cost
        far less than maintaining them row by row. Elsewhere, do nothing.

        The definitions are read from the catalog before dropping and replayed verbatim, so the schema
        ends identical (same names, same definitions). DDL is transactional in PostgreSQL: if loading
        fails, the transaction is marked for rollback, and the rollback restores what was dropped.
        """
        if not self.postgresql:
            yield
            return
        if not self.connection.in_atomic_block:
            raise RuntimeError(
                "bulk_load() must run inside a transaction, so that a failure restores the schema."
            )
        tables = [model._meta.db_table for model in model_list]
        with self.connection.cursor() as cursor:
            # Deferred foreign-key checks still pending on a table forbid altering it: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                """
                SELECT table_class.relname, c.conname, pg_get_constraintdef(c.oid), c.contype
                FROM pg_constraint c JOIN pg_class table_class ON table_class.oid = c.conrelid
                WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u')
                ORDER BY c.contype, table_class.relname, c.conname
                """,
                [tables],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                """
                SELECT index_class.relname, pg_get_indexdef(index.indexrelid)
                FROM pg_index index JOIN pg_class index_class ON index_class.oid = index.indexrelid
                WHERE index.indrelid = ANY(%s::regclass[]) AND NOT index.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = index.indexrelid
                                  AND c.conrelid = index.indrelid)
                ORDER BY index_class.relname
                """,
                [tables],
            )
            indexes = cursor.fetchall()
            quote = self.connection.ops.quote_name
            # Foreign keys first ('f' sorts before 'u'): one might rely on a unique constraint.
            for table, name, _definition, _kind in constraints:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            for name, _definition in indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")
        try:
            yield
        except BaseException:
            # Whatever the caller does with the error, this transaction must never commit the tables
            # without their indexes and constraints: only a rollback may end it now.
            transaction.set_rollback(True, using=self.connection.alias)
            raise
        # A sort of tens of millions of keys wants memory; both cores may help (PostgreSQL decides).
        with (
            self.phase("Rebuilding indexes and constraints"),
            self.local_settings(maintenance_work_mem="1GB", max_parallel_maintenance_workers="2"),
            self.connection.cursor() as cursor,
        ):
            # Unique constraints first (a foreign key may rely on one), then foreign keys (each checked
            # by one join), then indexes.
            for table, name, definition, _kind in reversed(constraints):
                started = time.perf_counter()
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
                self._log_rebuilt(name, started)
            for name, definition in indexes:
                started = time.perf_counter()
                cursor.execute(definition)
                self._log_rebuilt(name, started)

    @contextmanager
    def local_settings(self, **settings: str) -> Iterator[None]:
        """Change PostgreSQL settings for a block of this transaction, then put them back.

        Not restored when the block fails: they are local to the transaction, which ends with the error.
        """
        if not self.postgresql:
            yield
            return
        with self.connection.cursor() as cursor:
            previous = {}
            for name, value in settings.items():
                cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
                previous[name] = cursor.fetchone()[0]
        yield
        with self.connection.cursor() as cursor:
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])

    def _log_rebuilt(self, name: str, started: float) -> None:
        self.log(f"  {name}: {time.perf_counter() - started:.1f} s", level=2)

    def analyze(self, *model_list: type[models.Model]) -> None:
        """Give PostgreSQL's planner statistics of freshly loaded tables before anything queries them."""
        if self.postgresql:
            quote = self.connection.ops.quote_name
            with self.connection.cursor() as cursor:
                cursor.execute("ANALYZE " + ", ".join(quote(model._meta.db_table) for model in model_list))


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield the items of ``items`` while a worker thread already computes the next ``depth`` of them.

    Generating rows is pure Python; loading them mostly waits on the database, which releases the GIL.
    With a generator of chunks running ahead, both cores work. The generator must not use the database.
    """
    iterator = iter(items)
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-demo") as pool:
        # One worker: the generator is only ever advanced by that thread, one step at a time.
        pending: deque[Future[Any]] = deque(pool.submit(next, iterator, done) for _ in range(depth))
        while True:
            item = pending.popleft().result()
            if item is done:
                return
            pending.append(pool.submit(next, iterator, done))
            yield item
