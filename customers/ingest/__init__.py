"""Event ingestion: validate a batch of events, resolve each to a customer, store it once.

The write path is set-based: whatever the batch size, a batch costs a fixed number of statements
(look-ups with ``IN``, multi-row inserts with ``ON CONFLICT DO NOTHING RETURNING``), never one ORM save
per event. Idempotency rests on the unique ``(source_system, external_id)`` constraint: an event already
stored answers ``duplicate`` and changes nothing, also when two batches race with the same event.

Identity resolution, in order, for each event's ``customer``:
1. ``(source, id)``: the customer already linked to that id in that source system;
2. email, when the source system is trusted for email and the email is no placeholder;
3. normalised phone, likewise;
4. otherwise a new customer.
An email or phone shared by several customers is ambiguous and matches none of them. The decision is
returned with each item (``match``) and stored on the identity row it creates (``matched_by``, ``match_note``).

The package: ``types`` (shapes), ``validation`` (events as sent, checked), ``identity`` (resolution),
``writes`` and ``sql`` (set-based statements), ``batch`` (a batch end to end), ``customers`` (customer
rows from source systems, as CSV imports give them).
"""

from customers.ingest.batch import (
    Checked,
    Lookups,
    events_check,
    events_ingest,
    events_lookups,
    events_store,
    events_validate,
    gc_paused,
)
from customers.ingest.customers import PROFILE_COLUMNS, CustomerRow, customers_upsert
from customers.ingest.identity import Resolvable, customers_resolve
from customers.ingest.types import (
    LINE_KINDS,
    MAX_BATCH,
    MAX_PARAMS,
    MONEY_KINDS,
    TOPIC_INGESTED,
    BatchResult,
    BatchTooLarge,
    ItemResult,
)

__all__ = [
    "LINE_KINDS",
    "MAX_BATCH",
    "MAX_PARAMS",
    "MONEY_KINDS",
    "PROFILE_COLUMNS",
    "TOPIC_INGESTED",
    "BatchResult",
    "BatchTooLarge",
    "Checked",
    "CustomerRow",
    "ItemResult",
    "Lookups",
    "Resolvable",
    "customers_resolve",
    "customers_upsert",
    "events_check",
    "events_ingest",
    "events_lookups",
    "events_store",
    "events_validate",
    "gc_paused",
]
