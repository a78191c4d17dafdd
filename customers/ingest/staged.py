"""Events already checked and typed (a CSV import's plain rows), stored by two SQL statements.

An import's chunk is mostly plain rows: values that need no trimming, in the forms the import reads
(see ``customers.imports.rows._plain_event``), naming the customer by their id in the import's source
system. Those rows are typed in Python (a few microseconds each), COPYed into a temporary table, and
two statements do the rest set-based. The first (``plain_events_resolve``) looks up the products and
locations the rows name, looks each event up (stored already?) and each new event's customer id (a
known identity?), and creates one customer and identity per unknown id (named after its first row,
signed up at its earliest event). The second (``plain_events_write``) inserts the interactions and their
purchase lines. The rows it cannot take (an unknown SKU or location) come back by row number and go the
ordinary way, which names their error; everything else the import reads goes that way too.

Two statements, so that an import can resolve the customers of its next chunk, on another connection,
as soon as this chunk's are resolved, while this chunk's interactions are still being written (see
``customers.imports.run``): the new customers of this chunk are handed to the next one (``pending``).

The decisions are those of ``events_ingest``: the same ``created`` and ``duplicate``, the same new
customers and identity rows (``matched_by`` ``new``), the same outbox message.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from customers.ingest.sql import _copy, _define, _staging

# The typed columns of a plain row, in the order ``_plain_event`` gives them.
PLAIN_COLUMNS = (
    ("n", "integer"),
    ("external_id", "text"),
    ("customer_external_id", "text"),
    ("name", "text"),
    ("kind", "text"),
    ("channel", "text"),
    ("occurred_at", "timestamptz"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("summary", "text"),
    ("nps_score", "smallint"),
    ("location", "text"),
    ("sku", "text"),
    ("quantity", "integer"),
    ("unit_price", "numeric"),
    ("properties", "jsonb"),
)
_STAGING = "ingest_plain_events"
_STAGING_COLUMNS = ", ".join(f"{name} {pg_type}" for name, pg_type in PLAIN_COLUMNS)
_define(_STAGING, _STAGING_COLUMNS)

# The rows' fresh events (neither stored already nor naming an unknown product or location), typed and
# resolved to their customer by ``_RESOLVE``, waiting for ``_WRITE``.
_FRESH = "ingest_plain_fresh"
_FRESH_COLUMNS = (
    "n integer, external_id text, customer_id bigint, kind text, channel text, occurred_at timestamptz, "
    "total numeric, currency text, summary text, nps_score smallint, properties jsonb, product_id bigint, "
    "supplier_id bigint, cost numeric, price numeric, quantity integer, location_id bigint"
)
_define(_FRESH, _FRESH_COLUMNS)
# The new customers of the chunk stored just before on another connection, not committed yet (so not
# visible here): their ids in the source system and their customer ids.
_PENDING = "ingest_plain_pending"
_PENDING_COLUMNS = "customer_external_id text, customer_id bigint"
_define(_PENDING, _PENDING_COLUMNS)

# Every probe is a LATERAL subquery, so that the plan stays one index probe per row whatever the planner
# guesses of the temporary table (which has no statistics): plain joins may hash a whole table. Each
# event is probed (stored already?), each new event's customer id once (a customer of the pending chunk?
# a known identity?). The rows hold no event twice (``_prepare`` sends repeats the ordinary way). The new
# customers' ids come from their sequence in the statement. A row that names an unknown product or
# location is left out, answered by number. A new customer's first row (which names them) is found by its
# number after grouping, not by an ordered aggregate, which sorts each customer's rows again and builds an
# array for each (10,000 rows grouped: 23 ms that way, 8-16 ms this way, measured alone).
_RESOLVE = """
WITH staged AS MATERIALIZED (
    SELECT s.*, p.id AS product_id, p.supplier_id, p.cost, COALESCE(s.unit_price, p.price) AS price,
        l.id AS location_id, i.id AS stored_id,
        (s.sku IS NOT NULL AND p.id IS NULL) OR (s.location IS NOT NULL AND l.id IS NULL) AS unknown
    FROM ingest_plain_events s
    LEFT JOIN LATERAL (
        SELECT p.id, p.supplier_id, p.cost, p.price FROM crm_product p
        WHERE s.sku IS NOT NULL AND p.sku = s.sku LIMIT 1
    ) p ON true
    LEFT JOIN LATERAL (
        SELECT l.id FROM crm_location l WHERE s.location IS NOT NULL AND l.code = s.location LIMIT 1
    ) l ON true
    LEFT JOIN LATERAL (
        SELECT i.id FROM customers_interaction i
        WHERE i.source_system_id = %(source)s AND i.external_id = s.external_id LIMIT 1
    ) i ON true
),
fresh AS NOT MATERIALIZED (SELECT * FROM staged WHERE NOT unknown AND stored_id IS NULL),
named AS MATERIALIZED (
    SELECT g.*, COALESCE(pending.customer_id, ci.customer_id) AS known_customer_id
    FROM (
        SELECT first.customer_external_id, COALESCE(first.name, '') AS name, ids.signup_at, ids.first_n
        FROM (
            SELECT customer_external_id, min(occurred_at) AS signup_at, min(n) AS first_n
            FROM fresh GROUP BY customer_external_id
        ) ids
        JOIN fresh first ON first.n = ids.first_n
    ) g
    LEFT JOIN ingest_plain_pending pending ON pending.customer_external_id = g.customer_external_id
    LEFT JOIN LATERAL (
        SELECT ci.customer_id FROM customers_customeridentity ci
        WHERE pending.customer_id IS NULL
            AND ci.source_system_id = %(source)s AND ci.external_id = g.customer_external_id LIMIT 1
    ) ci ON true
),
people AS MATERIALIZED (
    SELECT nextval((SELECT pg_get_serial_sequence('customers_customer', 'id'))::regclass) AS id,
        customer_external_id, name, signup_at
    FROM named WHERE known_customer_id IS NULL ORDER BY first_n
),
customers_written AS (
    INSERT INTO customers_customer (
        id, created_at, updated_at, name, email, phone, phone_normalized, birth_date, gender, address,
        postal_code, region, preferred_language, signup_at, status)
    SELECT id, %(now)s, %(now)s, name, '', '', '', NULL, '', '', '', '', '', signup_at, 'active' FROM people
),
identities_written AS (
    INSERT INTO customers_customeridentity (
        customer_id, source_system_id, external_id, matched_by, match_note, created_at)
    SELECT id, %(source)s, customer_external_id, 'new', 'no customer matched; created', %(now)s FROM people
),
fresh_written AS (
    INSERT INTO ingest_plain_fresh (
        n, external_id, customer_id, kind, channel, occurred_at, total, currency, summary, nps_score,
        properties, product_id, supplier_id, cost, price, quantity, location_id)
    SELECT f.n, f.external_id, COALESCE(named.known_customer_id, people.id), f.kind, f.channel,
        f.occurred_at, COALESCE(f.amount, CASE WHEN f.product_id IS NOT NULL AND f.currency IS NOT NULL
            THEN f.price * f.quantity END),
        f.currency, f.summary, f.nps_score, f.properties, f.product_id, f.supplier_id, f.cost, f.price,
        f.quantity, f.location_id
    FROM fresh f
    JOIN named ON named.customer_external_id = f.customer_external_id
    LEFT JOIN people ON people.customer_external_id = f.customer_external_id
)
SELECT
    ARRAY(SELECT n FROM staged WHERE unknown ORDER BY n),
    (SELECT count(*) FROM staged WHERE NOT unknown AND stored_id IS NOT NULL),
    ARRAY(SELECT customer_external_id FROM people ORDER BY id),
    ARRAY(SELECT id FROM people ORDER BY id)
"""

# The interactions' ids come from their sequence in the statement, so that the lines are written with
# their interaction's id in the same statement.
_WRITE = """
WITH planned AS MATERIALIZED (
    SELECT nextval((SELECT pg_get_serial_sequence('customers_interaction', 'id'))::regclass) AS interaction_id,
        f.*
    FROM ingest_plain_fresh f
    ORDER BY f.n
),
interactions_written AS (
    INSERT INTO customers_interaction (
        id, customer_id, source_system_id, external_id, kind, channel, occurred_at, amount, currency,
        summary, nps_score, properties, recorded_at)
    SELECT interaction_id, customer_id, %(source)s, external_id, kind, channel, occurred_at, total,
        CASE WHEN total IS NULL THEN '' ELSE currency END, COALESCE(summary, ''), nps_score,
        COALESCE(properties, '{}'), %(now)s
    FROM planned
),
lines_written AS (
    INSERT INTO customers_purchaseline (
        interaction_id, product_id, supplier_id, location_id, occurred_at, channel, is_return, quantity,
        unit_price, unit_cost, currency)
    SELECT interaction_id, product_id, supplier_id, location_id, occurred_at, channel, kind = 'return',
        quantity, price, cost, currency
    FROM planned WHERE product_id IS NOT NULL
)
SELECT
    ARRAY(SELECT interaction_id FROM planned ORDER BY interaction_id),
    ARRAY(SELECT DISTINCT customer_id FROM planned ORDER BY customer_id)
"""


@dataclass
class Resolved:
    """What resolving plain rows did: the rows it cannot take (by number), how many rows were stored
    before (duplicates), and the customers it created, by their id in the source system."""

    unknown: list[int] = field(default_factory=list)
    duplicates: int = 0
    customers: dict[str, int] = field(default_factory=dict)


@dataclass
class Written:
    """What writing the resolved rows created: the interactions, and their customers."""

    interaction_ids: list[int] = field(default_factory=list)
    customer_ids: list[int] = field(default_factory=list)

    @property
    def created(self) -> int:
        return len(self.interaction_ids)


def plain_events_resolve(
    *, source_id: int, rows: list[tuple[Any, ...]], now: dt.datetime, pending: dict[str, int] | None = None
) -> Resolved:
    """PostgreSQL, in the caller's transaction: the first half of storing plain rows (in ``PLAIN_COLUMNS``
    order) of one source system: look their events and products up and resolve each fresh event's
    customer, creating the new customers and their identities; ``plain_events_write`` then writes the
    interactions. ``pending`` are new customers of another, uncommitted transaction that this one's rows
    may name (id in the source system → customer id). On a unique violation (a concurrent writer stored
    one of the identities since the look-up) the statement fails whole and the caller, in a savepoint,
    takes the ordinary path instead."""
    with connection.cursor() as cursor, _settings(cursor):
        for name, columns in (
            (_STAGING, _STAGING_COLUMNS),
            (_FRESH, _FRESH_COLUMNS),
            (_PENDING, _PENDING_COLUMNS),
        ):
            _staging(cursor, name, columns)
        # Emptied at each commit; emptied here too for chunks in a longer transaction (a test's).
        cursor.execute(f"TRUNCATE {_STAGING}, {_FRESH}, {_PENDING}")
        _copy(
            cursor,
            f"COPY {_STAGING} ({', '.join(name for name, _type in PLAIN_COLUMNS)}) FROM STDIN",
            rows,
            [pg_type for _name, pg_type in PLAIN_COLUMNS],
        )
        if pending:
            _copy(cursor, f"COPY {_PENDING} FROM STDIN", list(pending.items()), ["text", "bigint"])
        cursor.execute(_RESOLVE, {"source": source_id, "now": now})
        unknown, duplicates, external_ids, customer_ids = cursor.fetchone()
    return Resolved(
        unknown=unknown, duplicates=duplicates, customers=dict(zip(external_ids, customer_ids, strict=True))
    )


def plain_events_write(*, source_id: int, now: dt.datetime) -> Written:
    """PostgreSQL, in the transaction of ``plain_events_resolve``: insert the interactions of the rows it
    resolved and their purchase lines. The caller writes the outbox message (``ingest`` topic) for what
    was created; on a unique violation (a concurrent writer stored one of the events since the look-up)
    the statement fails whole and the caller, in a savepoint, takes the ordinary path instead."""
    with connection.cursor() as cursor, _settings(cursor):
        cursor.execute(_WRITE, {"source": source_id, "now": now})
        interaction_ids, customer_ids = cursor.fetchone()
    return Written(interaction_ids=interaction_ids, customer_ids=customer_ids)


@contextmanager
def _settings(cursor: Any) -> Iterator[None]:
    """JIT compiling costs more than it saves. The temporary tables have no statistics, so every row
    count is guessed at one: nested loops would join each new customer to every row (quadratic); the
    probes are LATERAL subqueries, which remain nested loops. Both settings are put back after."""
    cursor.execute("SELECT current_setting('jit'), current_setting('enable_nestloop')")
    jit, nestloop = cursor.fetchone()
    cursor.execute("SELECT set_config('jit', 'off', true), set_config('enable_nestloop', 'off', true)")
    yield
    cursor.execute(
        "SELECT set_config('jit', %s, true), set_config('enable_nestloop', %s, true)", [jit, nestloop]
    )
