"""Identity resolution: which customer an event or a customer row belongs to."""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from django.db import connection
from django.utils import timezone

from customers.contact import is_placeholder_email, is_placeholder_phone
from customers.ingest.sql import _in, _insert, _select_by_keys
from customers.ingest.types import _Event
from customers.ingest.writes import _IDENTITY_COLUMNS
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


def _new_customer_of_events(members: list[_Event], now: dt.datetime) -> Customer:
    head = members[0]
    return Customer(
        name=head.name or (head.email.split("@")[0] if head.email else ""),
        email=head.email,
        phone=head.phone,
        phone_normalized=head.phone,
        signup_at=min(m.occurred_at for m in members),
        created_at=now,
        updated_at=now,
    )


def customers_resolve(
    items: Sequence[R],
    *,
    new_customer: Callable[[list[R], dt.datetime], Customer],
    new_match: str = "new",
    identities_known: bool = False,
) -> None:
    """Set ``customer_id``, ``match`` and ``match_note`` on every item, creating the customers and the
    identities of ``(source, id)`` pairs seen for the first time.

    ``new_customer`` builds the unsaved customer for the items that name one unknown person (they share a
    ``(source, id)``, or without one an email or a phone); ``new_match`` is the ``matched_by`` written on
    the identity rows of those new customers. ``identities_known`` says the caller looked the items'
    ``(source, id)`` pairs up already and found none.
    """
    # 1. Known identities.
    keyed = [e for e in items if e.customer_external_id]
    identities = (
        {}
        if identities_known
        else _identities({(e.customer_source.pk, e.customer_external_id) for e in keyed})
    )
    for item in keyed:
        customer_id = identities.get((item.customer_source.pk, item.customer_external_id))
        if customer_id:
            item.customer_id, item.match = customer_id, "identity"

    # 2. and 3. Trusted email, then trusted phone, never a placeholder or an ambiguous value.
    def candidates(attribute: str, trusted: str, placeholder: Any) -> list[R]:
        return [
            e
            for e in items
            if e.customer_id is None
            and getattr(e, attribute)
            and getattr(e.customer_source, trusted)
            and not placeholder(getattr(e, attribute))
        ]

    by_email = candidates("email", "trust_email", is_placeholder_email)
    if by_email:
        # UPPER(email) is what the customers_customer_email_ci index holds.
        owners = _owners_of("UPPER(email)", {e.email.upper() for e in by_email})
        _match(by_email, owners, "email", lambda e: e.email.upper())
    by_phone = candidates("phone", "trust_phone", is_placeholder_phone)
    if by_phone:
        owners = _owners_of("phone_normalized", {e.phone for e in by_phone}, "AND phone_normalized <> ''")
        _match(by_phone, owners, "phone", lambda e: e.phone)

    # 4. New customers: one per distinct customer key.
    unresolved = [e for e in items if e.customer_id is None]
    if unresolved:
        groups: dict[tuple[str, ...], list[R]] = defaultdict(list)
        for item in unresolved:
            if item.customer_external_id:
                key: tuple[str, ...] = ("id", str(item.customer_source.pk), item.customer_external_id)
            elif item.email:
                key = ("email", item.email)
            else:
                key = ("phone", item.phone)
            groups[key].append(item)
        now = timezone.now()
        new_customers = [new_customer(members, now) for members in groups.values()]
        Customer.objects.bulk_create(new_customers)
        for customer, members in zip(new_customers, groups.values(), strict=True):
            for item in members:
                item.customer_id = customer.pk
                item.match = new_match
                if not item.match_note:
                    item.match_note = "no customer matched; created"

    _link_identities([e for e in items if e.customer_external_id and e.match != "identity"], new_match)


def _identities(keys: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
    rows = _select_by_keys("customers_customeridentity", "source_system_id, external_id, customer_id", keys)
    return {(s, x): c for s, x, c in rows}


def _owners_of(expression: str, values: set[str], index_condition: str = "") -> dict[str, list[int]]:
    """The active customers whose ``expression`` (an indexed one) has each of the values;
    ``index_condition`` repeats a partial index's condition, which PostgreSQL cannot infer from a list."""
    condition, params = _in(expression, sorted(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {expression}, id FROM customers_customer "  # noqa: S608
            f"WHERE {condition} {index_condition} AND status = %s",
            [*params, Customer.Status.ACTIVE],
        )
        return _owners(cursor.fetchall())


def _owners(rows: Any) -> dict[str, list[int]]:
    owners: dict[str, list[int]] = defaultdict(list)
    for value, customer_id in rows:
        owners[value].append(customer_id)
    return owners


def _match(events: Sequence[Resolvable], owners: dict[str, list[int]], how: str, key: Any) -> None:
    for event in events:
        found = owners.get(key(event), [])
        if len(found) == 1:
            event.customer_id, event.match = found[0], how
            event.match_note = f"{how} trusted by source {event.customer_source.code}; one customer has it"
        elif len(found) > 1:
            event.match_note = f"{how} shared by {len(found)} customers: ambiguous, not matched"


def _link_identities(events: Sequence[Resolvable], new_match: str) -> None:
    """Create the identity rows of newly seen ``(source, id)`` pairs. When a concurrent batch linked the
    same pair first, follow its decision and drop the customer this batch created in vain."""
    pairs: dict[tuple[int, str], Resolvable] = {}
    for event in events:
        pairs.setdefault((event.customer_source.pk, event.customer_external_id), event)
    if not pairs:
        return
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    returned = _insert(
        "customers_customeridentity",
        _IDENTITY_COLUMNS,
        [
            (event.customer_id, source_id, external_id, event.match, event.match_note[:200], now)
            for (source_id, external_id), event in pairs.items()
        ],
        "ON CONFLICT (source_system_id, external_id) DO NOTHING RETURNING source_system_id, external_id",
    )
    inserted = {(s, x) for s, x in returned}
    lost = set(pairs) - inserted
    if not lost:
        return
    winners = _identities(lost)
    orphans = set()
    for event in events:
        key = (event.customer_source.pk, event.customer_external_id)
        if key in lost:
            if event.match == new_match:
                orphans.add(event.customer_id)
            event.customer_id, event.match = winners[key], "identity"
            event.match_note = "linked by a concurrent batch"
    if orphans:
        Customer.objects.filter(pk__in=orphans).delete()
