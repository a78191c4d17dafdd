"""Identity resolution: which customer an event or a customer row belongs to.

On PostgreSQL a batch's look-ups are one statement: the batch's keys are COPYed into a temporary table
and joined to the event table (already stored?), the identities (known ``(source, id)``?) and the
customers' email and phone indexes (who has this trusted email, this trusted phone?). SQLite runs the
same look-ups as separate ``IN`` queries. The decisions are then taken in Python, in the order the
module ``customers.ingest`` documents, from what the look-up found.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.db import connection
from django.utils import timezone

from customers.contact import is_placeholder_email, is_placeholder_phone
from customers.ingest.sql import (
    _copy,
    _copy_new,
    _define,
    _ids_allocate,
    _in,
    _insert,
    _postgres,
    _select_by_keys,
    _staging,
)
from customers.ingest.types import MAX_BATCH, _Event
from customers.ingest.writes import _IDENTITY_COLUMNS, _existing_interactions
from customers.models import Customer, SourceSystem


class Resolvable(Protocol):
    """What identity resolution reads and writes on each item it resolves: an event, a customer row."""

    customer_source: SourceSystem
    customer_external_id: str
    email: str
    phone: str
    customer_id: int | None
    match: str
    match_note: str


R = TypeVar("R", bound=Resolvable)


@dataclass
class Found:
    """What the look-up found for one item: the stored event with its key (events only), the customer
    linked to its ``(source, id)``, and the active customers with its email and its phone (``None``
    where the key was not looked up: untrusted, a placeholder, or decided already)."""

    interaction: tuple[int, int] | None = None  # (id, customer_id)
    identity: int | None = None
    by_email: list[int] | None = None
    by_phone: list[int] | None = None


@dataclass
class _Keys:
    source_id: int | None
    external_id: str | None
    customer_source_id: int | None
    customer_external_id: str | None
    email: str | None  # upper case, as the index holds it
    phone: str | None


def _keys_of(item: Resolvable, event: bool) -> _Keys:
    source = item.customer_source
    email = item.email if item.email and source.trust_email and not is_placeholder_email(item.email) else ""
    phone = item.phone if item.phone and source.trust_phone and not is_placeholder_phone(item.phone) else ""
    return _Keys(
        source_id=item.source.id if event else None,  # type: ignore[attr-defined]
        external_id=item.external_id if event else None,  # type: ignore[attr-defined]
        customer_source_id=source.id if item.customer_external_id else None,
        customer_external_id=item.customer_external_id or None,
        email=email.upper() or None,
        phone=phone or None,
    )


_KEY_COLUMNS = (
    "n integer, source_id bigint, external_id text, customer_source_id bigint, customer_external_id text, "
    "email text, phone text"
)
_KEY_TYPES = [definition.split()[1] for definition in _KEY_COLUMNS.split(", ")]
_define("ingest_keys", _KEY_COLUMNS)
# One probe of each index per key; the email and phone look-ups run only for keys still undecided.
# The probes are LATERAL subqueries so that the plan stays one index probe per key: the temporary table
# has no statistics, and with plain joins the planner hashed a sequential scan of the whole event table
# for a chunk of 10,000 keys (measured: 280 ms on 0.4M interactions, growing with the table).
# Customers sharing an email or phone are listed whole: the note says how many (placeholders never get here).
_LOOKUP = """
WITH k AS (DELETE FROM ingest_keys RETURNING *)
SELECT k.n, i.id, i.customer_id, ci.customer_id,
    CASE WHEN k.email IS NOT NULL AND i.id IS NULL AND ci.customer_id IS NULL THEN ARRAY(
        SELECT c.id FROM customers_customer c
        WHERE UPPER(c.email) = k.email AND c.status = 'active' ORDER BY c.id) END,
    CASE WHEN k.phone IS NOT NULL AND i.id IS NULL AND ci.customer_id IS NULL THEN ARRAY(
        SELECT c.id FROM customers_customer c
        WHERE c.phone_normalized = k.phone AND c.phone_normalized <> '' AND c.status = 'active'
        ORDER BY c.id) END
FROM k
LEFT JOIN LATERAL (
    SELECT i.id, i.customer_id FROM customers_interaction i
    WHERE i.source_system_id = k.source_id AND i.external_id = k.external_id LIMIT 1
) i ON true
LEFT JOIN LATERAL (
    SELECT ci.customer_id FROM customers_customeridentity ci
    WHERE ci.source_system_id = k.customer_source_id AND ci.external_id = k.customer_external_id LIMIT 1
) ci ON true
"""


def identities_lookup(items: Sequence[Resolvable], *, events: bool = False) -> list[Found]:
    """Look up every item's keys at once; ``events`` says the items are events, whose stored copies are
    looked up too (and which need no resolution when found)."""
    keys = [_keys_of(item, events) for item in items]
    found = [Found() for _item in items]
    if not items:
        return found
    if _postgres():
        with connection.cursor() as cursor:
            if len(keys) > MAX_BATCH and connection.in_atomic_block:
                # An import's chunk: the look-up's cost estimate passes jit_above_cost, and compiling it
                # took longer (19 ms for 10,000 keys) than the probes themselves save. This transaction only.
                cursor.execute("SET LOCAL jit = off")
            _staging(cursor, "ingest_keys", _KEY_COLUMNS)
            _copy(
                cursor,
                "COPY ingest_keys (n, source_id, external_id, customer_source_id, customer_external_id, "
                "email, phone) FROM STDIN",
                [
                    (
                        n,
                        k.source_id,
                        k.external_id,
                        k.customer_source_id,
                        k.customer_external_id,
                        k.email,
                        k.phone,
                    )
                    for n, k in enumerate(keys)
                ],
                _KEY_TYPES,
            )
            cursor.execute(_LOOKUP)
            for n, interaction_id, interaction_customer, identity, by_email, by_phone in cursor.fetchall():
                item = found[n]
                if interaction_id is not None:
                    item.interaction = (interaction_id, interaction_customer)
                item.identity, item.by_email, item.by_phone = identity, by_email, by_phone
        return found

    stored = (
        _existing_interactions([(k.source_id, k.external_id or "") for k in keys if k.source_id is not None])
        if events
        else {}
    )
    identities = _identities(
        {(k.customer_source_id, k.customer_external_id) for k in keys if k.customer_source_id is not None}  # type: ignore[misc]
    )
    undecided: list[tuple[_Keys, Found]] = []
    for k, item in zip(keys, found, strict=True):
        item.interaction = stored.get((k.source_id, k.external_id)) if events else None  # type: ignore[arg-type]
        if k.customer_source_id is not None:
            item.identity = identities.get((k.customer_source_id, k.customer_external_id))  # type: ignore[arg-type]
        if item.interaction is None and item.identity is None:
            undecided.append((k, item))
    emails = {k.email for k, _item in undecided if k.email}
    by_email = _owners_of("UPPER(email)", emails) if emails else {}
    phones = {k.phone for k, _item in undecided if k.phone}
    by_phone = _owners_of("phone_normalized", phones, "AND phone_normalized <> ''") if phones else {}
    for k, item in undecided:
        if k.email:
            item.by_email = by_email.get(k.email, [])
        if k.phone:
            item.by_phone = by_phone.get(k.phone, [])
    return found


def _new_customer_of_events(members: list[_Event], now: dt.datetime) -> dict[str, Any]:
    head = members[0]
    return {
        "name": head.name or (head.email.split("@")[0] if head.email else ""),
        "email": head.email,
        "phone": head.phone,
        "phone_normalized": head.phone,
        "signup_at": min(m.occurred_at for m in members),
    }


def customers_resolve(
    items: Sequence[R],
    *,
    new_customer: Callable[[list[R], dt.datetime], dict[str, Any]],
    new_match: str = "new",
    found: Sequence[Found] | None = None,
) -> None:
    """Set ``customer_id``, ``match`` and ``match_note`` on every item, creating the customers and the
    identities of ``(source, id)`` pairs seen for the first time.

    ``new_customer`` gives the profile fields of the new customer for the items that name one unknown
    person (they share a ``(source, id)``, or without one an email or a phone); ``new_match`` is the
    ``matched_by`` written on the identity rows of those new customers. ``found`` is what
    ``identities_lookup`` found for the items, when the caller looked them up already.
    """
    if found is None:
        found = identities_lookup(items)
    for item, facts in zip(items, found, strict=True):
        # 1. Known identity; 2. and 3. trusted email, then trusted phone, never an ambiguous value.
        if facts.identity is not None:
            item.customer_id, item.match = facts.identity, "identity"
            continue
        for how, owners in (("email", facts.by_email), ("phone", facts.by_phone)):
            if not owners:
                continue
            if len(owners) == 1:
                item.customer_id, item.match = owners[0], how
                item.match_note = f"{how} trusted by source {item.customer_source.code}; one customer has it"
                break
            item.match_note = f"{how} shared by {len(owners)} customers: ambiguous, not matched"

    # 4. New customers: one per distinct customer key.
    unresolved = [e for e in items if e.customer_id is None]
    if unresolved:
        groups: dict[tuple[str, ...], list[R]] = defaultdict(list)
        for item in unresolved:
            if item.customer_external_id:
                key: tuple[str, ...] = ("id", str(item.customer_source.id), item.customer_external_id)
            elif item.email:
                key = ("email", item.email)
            else:
                key = ("phone", item.phone)
            groups[key].append(item)
        now = timezone.now()
        ids = customers_create([new_customer(members, now) for members in groups.values()], now=now)
        for customer_id, members in zip(ids, groups.values(), strict=True):
            for item in members:
                item.customer_id = customer_id
                item.match = new_match
                if not item.match_note:
                    item.match_note = "no customer matched; created"

    _link_identities([e for e in items if e.customer_external_id and e.match != "identity"], new_match)


# Every column of a new customer, and what it holds when the profile does not give it.
_CUSTOMER_DEFAULTS: dict[str, Any] = {
    "name": "",
    "email": "",
    "phone": "",
    "phone_normalized": "",
    "birth_date": None,
    "gender": "",
    "address": "",
    "postal_code": "",
    "region": "",
    "preferred_language": "",
    "signup_at": None,
    "status": Customer.Status.ACTIVE,
}


_CUSTOMER_TYPES = [
    "bigint",
    "timestamptz",
    "timestamptz",
    *({"birth_date": "date", "signup_at": "timestamptz"}.get(name, "text") for name in _CUSTOMER_DEFAULTS),
]


def customers_create(profiles: list[dict[str, Any]], *, now: dt.datetime) -> list[int]:
    """Create active customers with these profile fields; return their ids, in order. On PostgreSQL the
    ids come from the sequence in one statement and the rows go in by COPY, with no model instances."""
    if not profiles:
        return []
    if not _postgres():
        customers = [Customer(**profile, created_at=now, updated_at=now) for profile in profiles]
        Customer.objects.bulk_create(customers)
        return [customer.pk for customer in customers]
    names = list(_CUSTOMER_DEFAULTS)
    with connection.cursor() as cursor:
        ids = _ids_allocate(cursor, "customers_customer", len(profiles))
        _copy(
            cursor,
            f"COPY customers_customer (id, created_at, updated_at, {', '.join(names)}) FROM STDIN",
            [
                (pk, now, now, *(profile.get(name, default) for name, default in _CUSTOMER_DEFAULTS.items()))
                for pk, profile in zip(ids, profiles, strict=True)
            ],
            _CUSTOMER_TYPES,
        )
    return ids


def _identities(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    rows = _select_by_keys("customers_customeridentity", "source_system_id, external_id, customer_id", keys)
    return {(s, x): c for s, x, c in rows}


def _owners_of(expression: str, values: set[str], index_condition: str = "") -> dict[str, list[int]]:
    """The active customers whose ``expression`` (an indexed one) has each of the values;
    ``index_condition`` repeats a partial index's condition, which the database cannot infer from a list."""
    condition, params = _in(expression, sorted(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {expression}, id FROM customers_customer "  # noqa: S608
            f"WHERE {condition} {index_condition} AND status = %s ORDER BY id",
            [*params, Customer.Status.ACTIVE],
        )
        owners: dict[str, list[int]] = defaultdict(list)
        for value, customer_id in cursor.fetchall():
            owners[value].append(customer_id)
        return owners


def _link_identities(events: Sequence[Resolvable], new_match: str) -> None:
    """Create the identity rows of newly seen ``(source, id)`` pairs. When a concurrent batch linked the
    same pair first, follow its decision and drop the customer this batch created in vain."""
    pairs: dict[tuple[int, str], Resolvable] = {}
    for event in events:
        pairs.setdefault((event.customer_source.id, event.customer_external_id), event)
    if not pairs:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (event.customer_id, source_id, external_id, event.match, event.match_note[:200], now)
        for (source_id, external_id), event in pairs.items()
    ]
    if _postgres() and _copy_new("customers_customeridentity", _IDENTITY_COLUMNS, rows) is not None:
        return
    returned = _insert(
        "customers_customeridentity",
        _IDENTITY_COLUMNS,
        rows,
        "ON CONFLICT (source_system_id, external_id) DO NOTHING RETURNING source_system_id, external_id",
    )
    inserted = {(s, x) for s, x in returned}
    lost = set(pairs) - inserted
    if not lost:
        return
    winners = _identities(lost)
    orphans = set()
    for event in events:
        key = (event.customer_source.id, event.customer_external_id)
        if key in lost:
            if event.match == new_match:
                orphans.add(event.customer_id)
            event.customer_id, event.match = winners[key], "identity"
            event.match_note = "linked by a concurrent batch"
    if orphans:
        Customer.objects.filter(pk__in=orphans).delete()
