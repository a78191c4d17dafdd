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
"""

import datetime as dt
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm.models import Location, Product
from crm.outbox import outbox_publish
from customers.contact import is_placeholder_email, is_placeholder_phone, normalize_email, normalize_phone
from customers.models import Customer, CustomerIdentity, Interaction, SourceSystem
from customers.privacy.consent import consent_changes_apply, consent_changes_validate

MAX_BATCH = 1000
# Bind parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
MAX_PARAMS = 30_000
TOPIC_INGESTED = "interactions.ingested"
MONEY_KINDS = {"purchase", "return", "payment", "claim"}
LINE_KINDS = {"purchase", "return"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_MAX_AMOUNT = Decimal("99999999999999.99")
_KINDS = set(Interaction.Kind.values)
_CHANNELS = set(Interaction.Channel.values)
_EVENT_FIELDS = {
    "source",
    "external_id",
    "customer",
    "kind",
    "channel",
    "occurred_at",
    "amount",
    "currency",
    "summary",
    "lines",
    "properties",
    "nps_score",
    "location",
    "consents",
}
_CUSTOMER_FIELDS = {"source", "id", "email", "phone", "name"}
_LINE_FIELDS = {"sku", "quantity", "unit_price"}


class BatchTooLarge(ValueError):
    """More than ``MAX_BATCH`` events in one request."""


@dataclass
class ItemResult:
    """The fate of one event of a batch, in the shape the API answers."""

    index: int
    status: str  # created, duplicate or rejected
    id: int | None = None
    customer_id: int | None = None
    match: str | None = None
    errors: dict[str, list[dict[str, str]]] | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.status == "rejected":
            data["errors"] = self.errors
        else:
            data["id"] = self.id
            data["customer_id"] = self.customer_id
            if self.match:
                data["match"] = self.match
        return data


@dataclass
class BatchResult:
    """The answer to a batch: each item's fate in order, and the totals."""

    results: list[ItemResult]

    def count(self, status: str) -> int:
        return sum(1 for item in self.results if item.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [item.as_dict() for item in self.results],
            "created": self.count("created"),
            "duplicates": self.count("duplicate"),
            "rejected": self.count("rejected"),
        }


@dataclass
class _Line:
    product: Product
    quantity: int
    unit_price: Decimal


@dataclass
class _Event:
    """A validated event, on its way into the database."""

    index: int
    source: SourceSystem
    external_id: str
    kind: str
    channel: str
    occurred_at: dt.datetime
    amount: Decimal | None
    currency: str
    summary: str
    nps_score: int | None
    properties: dict[str, Any]
    location_id: int | None
    lines: list[_Line]
    customer_source: SourceSystem
    customer_external_id: str
    email: str
    phone: str
    name: str
    customer_id: int | None = None
    match: str = ""
    match_note: str = ""
    result: ItemResult | None = field(default=None, repr=False)
    # Consent decisions the event carries (channel, purpose, granted): see customers.privacy.consent.
    consents: list[tuple[str, str, bool]] = field(default_factory=list)


class _Errors:
    """Field errors of one item, keyed by a dotted path (``lines.1.sku``), in DRF's shape."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[dict[str, str]]] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.by_field.setdefault(path, []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.by_field)


def events_ingest(*, events: list[Any]) -> BatchResult:
    """Store a batch of events; return each one's fate. Valid events are stored even when others are
    rejected; the batch is one transaction, so nothing is half-written."""
    if len(events) > MAX_BATCH:
        raise BatchTooLarge(f"A batch holds at most {MAX_BATCH} events; this one has {len(events)}.")
    results: list[ItemResult | None] = [None] * len(events)
    sources = _source_systems(events)
    products = _products(events)
    locations = _locations(events)

    valid: list[_Event] = []
    for index, raw in enumerate(events):
        event, errors = _validate(index, raw, sources, products, locations)
        if event is None:
            results[index] = ItemResult(index=index, status="rejected", errors=errors.by_field)
        else:
            valid.append(event)

    with transaction.atomic():
        stored = _store(valid)
        consent_changes_apply(
            changes=[
                (event.customer_id, event.source.code, event.occurred_at, event.consents)
                for event in stored
                if event.consents and event.result is not None and event.result.status == "created"
            ]
        )
    for event in stored:
        results[event.index] = event.result
    return BatchResult(results=[r for r in results if r is not None])


def events_check(*, events: list[Any]) -> list[dict[str, list[dict[str, str]]]]:
    """Validate events as ``events_ingest`` does, storing nothing: each event's field errors, in order
    (empty for a valid event). A CSV import's preview shows these."""
    sources = _source_systems(events)
    products = _products(events)
    locations = _locations(events)
    return [
        _validate(index, raw, sources, products, locations)[1].by_field for index, raw in enumerate(events)
    ]


# --- validation -------------------------------------------------------------------------------------


def _source_systems(events: list[Any]) -> dict[str, SourceSystem]:
    codes: set[str] = set()
    for raw in events:
        if isinstance(raw, dict):
            if isinstance(raw.get("source"), str):
                codes.add(raw["source"])
            customer = raw.get("customer")
            if isinstance(customer, dict) and isinstance(customer.get("source"), str):
                codes.add(customer["source"])
    return {s.code: s for s in SourceSystem.objects.filter(code__in=codes, is_active=True)}


def _products(events: list[Any]) -> dict[str, Product]:
    skus: set[str] = set()
    for raw in events:
        if isinstance(raw, dict) and isinstance(raw.get("lines"), list):
            skus.update(
                line["sku"]
                for line in raw["lines"]
                if isinstance(line, dict) and isinstance(line.get("sku"), str)
            )
    return {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}


def _locations(events: list[Any]) -> dict[str, int]:
    codes = {
        raw["location"] for raw in events if isinstance(raw, dict) and isinstance(raw.get("location"), str)
    }
    return dict(Location.objects.filter(code__in=codes).values_list("code", "id")) if codes else {}


def _text(
    raw: dict[str, Any],
    key: str,
    errors: _Errors,
    *,
    path: str = "",
    required: bool = False,
    max_length: int = 500,
) -> str:
    path = path or key
    value = raw.get(key)
    if value is None or value == "":
        if required:
            errors.add(path, "required", "This field is required.")
        return ""
    if not isinstance(value, str):
        errors.add(path, "invalid", "Must be a string.")
        return ""
    value = value.strip()
    if len(value) > max_length:
        errors.add(path, "max_length", f"At most {max_length} characters.")
    return value


def _decimal(value: Any, path: str, errors: _Errors) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors.add(path, "invalid", 'Must be a decimal number, e.g. "129000" or "19.99".')
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.add(path, "invalid", 'Must be a decimal number, e.g. "129000" or "19.99".')
        return None
    if not number.is_finite() or abs(number) > _MAX_AMOUNT:
        errors.add(path, "out_of_range", "Out of range.")
        return None
    if number != number.quantize(Decimal("0.01")):
        errors.add(path, "max_decimal_places", "At most 2 decimal places.")
        return None
    return number


def _validate(
    index: int,
    raw: Any,
    sources: dict[str, SourceSystem],
    products: dict[str, Product],
    locations: dict[str, int],
) -> tuple[_Event | None, _Errors]:
    errors = _Errors()
    if not isinstance(raw, dict):
        errors.add("non_field_errors", "invalid", "An event must be a JSON object.")
        return None, errors
    for unknown in sorted(set(raw) - _EVENT_FIELDS):
        errors.add(unknown, "unknown_field", "Unknown field.")

    source_code = _text(raw, "source", errors, required=True, max_length=40)
    source = sources.get(source_code)
    if source_code and source is None:
        errors.add("source", "unknown_source", f"No active source system has the code {source_code!r}.")
    external_id = _text(raw, "external_id", errors, required=True, max_length=128)

    kind = _text(raw, "kind", errors, required=True, max_length=20)
    if kind and kind not in _KINDS:
        errors.add(
            "kind", "invalid_choice", f"{kind!r} is not a kind; use one of {', '.join(sorted(_KINDS))}."
        )
    channel = _text(raw, "channel", errors, required=True, max_length=10)
    if channel and channel not in _CHANNELS:
        errors.add(
            "channel",
            "invalid_choice",
            f"{channel!r} is not a channel; use one of {', '.join(sorted(_CHANNELS))}.",
        )

    occurred_at = None
    occurred_raw = _text(raw, "occurred_at", errors, required=True, max_length=40)
    if occurred_raw:
        try:
            occurred_at = parse_datetime(occurred_raw)
        except ValueError:
            occurred_at = None
        if occurred_at is None:
            errors.add("occurred_at", "invalid", "Not an ISO 8601 time.")
        elif timezone.is_naive(occurred_at):
            errors.add(
                "occurred_at", "naive", "Give the time with its UTC offset, e.g. 2026-11-20T14:03:00+09:00."
            )
            occurred_at = None

    amount = None
    if raw.get("amount") not in (None, ""):
        amount = _decimal(raw["amount"], "amount", errors)
    currency = _text(raw, "currency", errors, max_length=3)
    if currency and not _CURRENCY.match(currency):
        errors.add("currency", "invalid", "An ISO 4217 code in capitals, e.g. KRW.")
    if amount is not None and not currency:
        errors.add("currency", "required", "Required with an amount.")
    if currency and amount is None and "amount" not in errors.by_field and kind not in LINE_KINDS:
        errors.add("amount", "required", "Required with a currency.")

    nps_score = raw.get("nps_score")
    if nps_score is not None:
        if isinstance(nps_score, bool) or not isinstance(nps_score, int) or not 0 <= nps_score <= 10:
            errors.add("nps_score", "invalid", "A whole number from 0 to 10.")
            nps_score = None
        elif kind != "survey":
            errors.add("nps_score", "invalid", "Only a survey carries an NPS score.")

    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        errors.add("properties", "invalid", "Must be a JSON object.")
        properties = {}

    location_id = None
    location_code = _text(raw, "location", errors, max_length=40)
    if location_code:
        location_id = locations.get(location_code)
        if location_id is None:
            errors.add("location", "unknown_location", f"No location has the code {location_code!r}.")

    lines = _validate_lines(raw.get("lines"), kind, products, errors)
    if lines and amount is None and currency:
        amount = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    if kind in LINE_KINDS and amount is None and "amount" not in errors.by_field:
        errors.add(
            "amount",
            "required",
            "A purchase or return needs an amount with its currency, or lines and a currency.",
        )

    customer = raw.get("customer")
    customer_source, customer_external_id, email, phone, name = source, "", "", "", ""
    if not isinstance(customer, dict):
        errors.add(
            "customer", "required" if customer is None else "invalid", "An object naming the customer."
        )
    else:
        for unknown in sorted(set(customer) - _CUSTOMER_FIELDS):
            errors.add(f"customer.{unknown}", "unknown_field", "Unknown field.")
        customer_source_code = _text(customer, "source", errors, path="customer.source", max_length=40)
        if customer_source_code:
            customer_source = sources.get(customer_source_code)
            if customer_source is None:
                errors.add(
                    "customer.source",
                    "unknown_source",
                    f"No active source system has the code {customer_source_code!r}.",
                )
        customer_external_id = _text(customer, "id", errors, path="customer.id", max_length=128)
        email_raw = _text(customer, "email", errors, path="customer.email", max_length=254)
        email = normalize_email(email_raw)
        if email_raw and not email:
            errors.add("customer.email", "invalid", "Not an email address.")
        phone_raw = _text(customer, "phone", errors, path="customer.phone", max_length=40)
        phone = normalize_phone(phone_raw)
        if phone_raw and not phone:
            errors.add("customer.phone", "invalid", "Not a phone number.")
        name = _text(customer, "name", errors, path="customer.name", max_length=200)
        if not (customer_external_id or email_raw or phone_raw):
            errors.add("customer", "required", "Name the customer by id, email or phone.")

    consents = consent_changes_validate(raw.get("consents"), errors)
    if errors or source is None or customer_source is None or occurred_at is None:
        return None, errors
    return (
        _Event(
            index=index,
            source=source,
            external_id=external_id,
            kind=kind,
            channel=channel,
            occurred_at=occurred_at,
            amount=amount,
            currency=currency if amount is not None else "",
            summary=_text(raw, "summary", errors),
            nps_score=nps_score,
            properties=properties,
            location_id=location_id,
            lines=lines,
            customer_source=customer_source,
            customer_external_id=customer_external_id,
            email=email,
            phone=phone,
            name=name,
            consents=consents,
        ),
        errors,
    )


def _validate_lines(value: Any, kind: str, products: dict[str, Product], errors: _Errors) -> list[_Line]:
    if value in (None, []):
        return []
    if not isinstance(value, list):
        errors.add("lines", "invalid", "Must be a list of lines.")
        return []
    if kind not in LINE_KINDS:
        errors.add("lines", "invalid", "Only a purchase or return has lines.")
        return []
    lines = []
    for n, raw in enumerate(value):
        path = f"lines.{n}"
        if not isinstance(raw, dict):
            errors.add(path, "invalid", "A line must be an object.")
            continue
        for unknown in sorted(set(raw) - _LINE_FIELDS):
            errors.add(f"{path}.{unknown}", "unknown_field", "Unknown field.")
        sku = _text(raw, "sku", errors, path=f"{path}.sku", required=True, max_length=64)
        product = products.get(sku)
        if sku and product is None:
            errors.add(f"{path}.sku", "unknown_sku", f"No product has the SKU {sku!r}.")
        quantity = raw.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= 100_000:
            errors.add(f"{path}.quantity", "invalid", "A whole number from 1 to 100000.")
            continue
        unit_price = None
        if raw.get("unit_price") not in (None, ""):
            unit_price = _decimal(raw["unit_price"], f"{path}.unit_price", errors)
            if unit_price is not None and unit_price < 0:
                errors.add(f"{path}.unit_price", "invalid", "Must not be negative.")
        elif product is not None:
            unit_price = product.price
        if product is not None and unit_price is not None and unit_price >= 0:
            lines.append(_Line(product=product, quantity=quantity, unit_price=unit_price))
    return lines


# --- storing ----------------------------------------------------------------------------------------


def _store(events: list[_Event]) -> list[_Event]:
    if not events:
        return []
    # An event twice in one batch: the later copies are duplicates of the first.
    first: dict[tuple[int, str], _Event] = {}
    repeats: list[tuple[_Event, _Event]] = []
    for event in events:
        key = (event.source.pk, event.external_id)
        if key in first:
            repeats.append((event, first[key]))
        else:
            first[key] = event
    unique = list(first.values())

    existing = _existing_interactions(list(first))
    fresh = []
    for event in unique:
        found = existing.get((event.source.pk, event.external_id))
        if found:
            event.result = ItemResult(
                index=event.index, status="duplicate", id=found[0], customer_id=found[1]
            )
        else:
            fresh.append(event)

    if fresh:
        customers_resolve(fresh, new_customer=_new_customer_of_events)
        _insert_interactions(fresh)
        created = [e for e in fresh if e.result is not None and e.result.status == "created"]
        if created:
            outbox_publish(
                topic=TOPIC_INGESTED,
                payload={
                    "customer_ids": sorted({e.customer_id for e in created if e.customer_id}),
                    "interaction_ids": [e.result.id for e in created if e.result],
                },
            )
    for repeat, original in repeats:
        assert original.result is not None
        repeat.result = ItemResult(
            index=repeat.index,
            status="duplicate",
            id=original.result.id,
            customer_id=original.result.customer_id,
        )
    return events


def _existing_interactions(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int]]:
    rows = _select_by_keys("customers_interaction", "source_system_id, external_id, id, customer_id", keys)
    return {(s, x): (pk, c) for s, x, pk, c in rows}


# --- statements of many rows ---------------------------------------------------------------------------
# On PostgreSQL, rows travel by COPY into a temporary table and move to their table with one
# INSERT ... SELECT (which ON CONFLICT and RETURNING need), and key lists as one array parameter
# (``= ANY``): psycopg then neither parses thousands of placeholders nor quotes arrays of rows, which cost
# five to ten times what COPY does. SQLite binds its parameters natively and gets the plain forms.


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _in(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (values)`` as SQL and parameters."""
    if _postgres():
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _select_by_keys(table: str, columns: str, keys: Iterable[tuple[int, str]]) -> list[tuple[Any, ...]]:
    """Rows of a table unique on ``(source_system_id, external_id)`` by those keys, one index probe each."""
    by_source: dict[int, list[str]] = defaultdict(list)
    for source_id, external_id in keys:
        by_source[source_id].append(external_id)
    if not by_source:
        return []
    conditions, params = [], []
    for source_id, external_ids in by_source.items():
        condition, values = _in("external_id", external_ids)
        conditions.append(f"(source_system_id = %s AND {condition})")
        params += [source_id, *values]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE {' OR '.join(conditions)}", params)  # noqa: S608
        return cursor.fetchall()


def _insert(
    table: str, columns: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]], suffix: str = ""
) -> list[tuple[Any, ...]]:
    """Insert rows (values in the order of ``columns``, each a name and its PostgreSQL type) in as few
    statements as parameter limits allow; return what ``suffix``'s RETURNING gives."""
    if not rows:
        return []
    names = ", ".join(name for name, _type in columns)
    returning = "RETURNING" in suffix
    with connection.cursor() as cursor:
        if _postgres():
            staging = f"ingest_{table}"
            definitions = ", ".join(f"{name} {pg_type}" for name, pg_type in columns)
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ({definitions}) ON COMMIT DELETE ROWS"
            )
            _copy(cursor, f"COPY {staging} ({names}) FROM STDIN", rows)
            cursor.execute(
                f"WITH staged AS (DELETE FROM {staging} RETURNING {names}) "  # noqa: S608
                f"INSERT INTO {table} ({names}) SELECT {names} FROM staged {suffix}"
            )
            return cursor.fetchall() if returning else []
        returned: list[tuple[Any, ...]] = []
        row = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_statement = MAX_PARAMS // len(columns)
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * len(batch))} {suffix}",  # noqa: S608
                [value for values in batch for value in values],
            )
            if returning:
                returned += cursor.fetchall()
        return returned


def _copy(cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Run a COPY ... FROM STDIN with the rows, listed with the queries Django records (for tests that count
    statements and for the debug toolbar) though it runs on the driver's cursor."""
    started = time.monotonic()
    with cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )


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


_IDENTITY_COLUMNS = (
    ("customer_id", "bigint"),
    ("source_system_id", "bigint"),
    ("external_id", "text"),
    ("matched_by", "text"),
    ("match_note", "text"),
    ("created_at", "timestamptz"),
)
_INTERACTION_COLUMNS = (
    ("customer_id", "bigint"),
    ("source_system_id", "bigint"),
    ("external_id", "text"),
    ("kind", "text"),
    ("channel", "text"),
    ("occurred_at", "timestamptz"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("summary", "text"),
    ("nps_score", "integer"),
    ("properties", "jsonb"),
    ("recorded_at", "timestamptz"),
)
_LINE_COLUMNS = (
    ("interaction_id", "bigint"),
    ("product_id", "bigint"),
    ("supplier_id", "bigint"),
    ("location_id", "bigint"),
    ("occurred_at", "timestamptz"),
    ("channel", "text"),
    ("is_return", "boolean"),
    ("quantity", "integer"),
    ("unit_price", "numeric"),
    ("unit_cost", "numeric"),
    ("currency", "text"),
)


def _insert_interactions(events: list[_Event]) -> None:
    adapt_datetime = connection.ops.adapt_datetimefield_value
    adapt_decimal = connection.ops.adapt_decimalfield_value
    now = adapt_datetime(timezone.now())
    returned = _insert(
        "customers_interaction",
        _INTERACTION_COLUMNS,
        [
            (
                event.customer_id,
                event.source.pk,
                event.external_id,
                event.kind,
                event.channel,
                adapt_datetime(event.occurred_at),
                adapt_decimal(event.amount, 16, 2),
                event.currency,
                event.summary,
                event.nps_score,
                json.dumps(event.properties),
                now,
            )
            for event in events
        ],
        "ON CONFLICT (source_system_id, external_id) DO NOTHING RETURNING id, source_system_id, external_id",
    )
    inserted = {(s, x): pk for pk, s, x in returned}
    raced = [e for e in events if (e.source.pk, e.external_id) not in inserted]
    existing = _existing_interactions([(e.source.pk, e.external_id) for e in raced]) if raced else {}
    line_rows: list[Any] = []
    for event in events:
        key = (event.source.pk, event.external_id)
        if key in inserted:
            event.result = ItemResult(
                index=event.index,
                status="created",
                id=inserted[key],
                customer_id=event.customer_id,
                match=event.match,
            )
            for line in event.lines:
                line_rows.append((inserted[key], event, line))
        else:  # stored by a concurrent batch since we looked
            pk, customer_id = existing[key]
            event.result = ItemResult(index=event.index, status="duplicate", id=pk, customer_id=customer_id)
    if line_rows:
        _insert_lines(line_rows)


def _insert_lines(rows: list[tuple[int, _Event, _Line]]) -> None:
    ops = connection.ops
    _insert(
        "customers_purchaseline",
        _LINE_COLUMNS,
        [
            (
                interaction_id,
                line.product.pk,
                line.product.supplier_id,
                event.location_id,
                ops.adapt_datetimefield_value(event.occurred_at),
                event.channel,
                event.kind == "return",
                line.quantity,
                ops.adapt_decimalfield_value(line.unit_price, 14, 2),
                ops.adapt_decimalfield_value(line.product.cost, 14, 2),
                event.currency,
            )
            for interaction_id, event, line in rows
        ],
    )


# --- customers --------------------------------------------------------------------------------------

# Profile fields a source system may give for a customer, as ``Customer`` columns.
PROFILE_COLUMNS = (
    "name",
    "email",
    "phone",
    "phone_normalized",
    "birth_date",
    "gender",
    "address",
    "postal_code",
    "region",
    "preferred_language",
    "signup_at",
)
_NULLABLE_COLUMNS = {"birth_date", "signup_at"}
_POSTGRES_TYPES = {"birth_date": "date", "signup_at": "timestamptz"}


@dataclass
class CustomerRow:
    """A customer as a source system describes it: its id there and the profile fields it gives.

    ``profile`` holds validated ``Customer`` values and only the fields the source gives: a field it does
    not give is never overwritten. ``email`` and ``phone`` are the normalised values used for matching.
    """

    index: int
    customer_source: SourceSystem
    customer_external_id: str
    profile: dict[str, Any]
    email: str = ""
    phone: str = ""
    customer_id: int | None = None
    match: str = ""
    match_note: str = ""
    status: str = ""  # created (the id is new to the CRM) or duplicate (it was known)


def customers_upsert(*, rows: list[CustomerRow]) -> list[CustomerRow]:
    """Store customers by their id in a source system, set-based; set each row's ``customer_id``,
    ``match`` and ``status``. Idempotent: a second run with the same rows creates nothing.

    - A known ``(source, id)``: its customer's profile takes the fields the row gives (only when they
      differ, and never on a merged or erased customer).
    - A new one is resolved as events are (trusted email, then trusted phone, else a new customer with the
      row's profile) and its identity is linked with ``matched_by`` ``import`` for a new customer. A
      customer matched by email or phone only has its empty fields filled: another system's view of a
      person does not overwrite what the CRM holds.
    - The same id twice in ``rows``: one customer, the later row's fields win; the repeats are duplicates.
    """
    first: dict[tuple[int, str], CustomerRow] = {}
    repeats: list[tuple[CustomerRow, CustomerRow]] = []
    for row in rows:
        key = (row.customer_source.pk, row.customer_external_id)
        if key in first:
            head = first[key]
            head.profile.update(row.profile)
            head.email, head.phone = row.email or head.email, row.phone or head.phone
            repeats.append((row, head))
        else:
            first[key] = row
    unique = list(first.values())
    with transaction.atomic():
        known = _identities(set(first))
        fresh = []
        for row in unique:
            customer_id = known.get((row.customer_source.pk, row.customer_external_id))
            if customer_id:
                row.customer_id, row.match = customer_id, "identity"
            else:
                fresh.append(row)
        if fresh:
            customers_resolve(
                fresh,
                new_customer=_new_customer_of_rows,
                new_match=CustomerIdentity.MatchedBy.IMPORT,
                identities_known=True,
            )
        overwrite: dict[int, dict[str, Any]] = {}
        fill: dict[int, dict[str, Any]] = {}
        for row in unique:
            assert row.customer_id is not None
            if row.match == "identity":  # known before, or linked by a concurrent import since we looked
                row.status = "duplicate"
                overwrite.setdefault(row.customer_id, {}).update(row.profile)
            else:
                row.status = "created"
                if row.match != CustomerIdentity.MatchedBy.IMPORT:
                    fill.setdefault(row.customer_id, {}).update(row.profile)
        _update_profiles(overwrite, fill_only=False)
        _update_profiles(fill, fill_only=True)
    for repeat, head in repeats:
        repeat.customer_id, repeat.match, repeat.status = head.customer_id, head.match, "duplicate"
    return rows


def _new_customer_of_rows(members: list[CustomerRow], now: dt.datetime) -> Customer:
    return Customer(**members[0].profile, created_at=now, updated_at=now)


def _update_profiles(profiles: dict[int, dict[str, Any]], *, fill_only: bool) -> None:
    """Write profile fields to many customers set-based, touching only active customers whose values
    change: ``UPDATE ... FROM`` the rows, COPYed into a temporary table on PostgreSQL and given as
    ``VALUES`` on SQLite. A field a profile does not give stays as it is.

    ``fill_only`` writes a field only where the customer's is empty.
    """
    if not profiles:
        return
    fields = [f for f in PROFILE_COLUMNS if any(f in profile for profile in profiles.values())]
    if not fields:
        return
    postgres = _postgres()
    ops = connection.ops
    assignments, changes = [], []
    for number, name in enumerate(fields, start=2):
        new = f"v.{name}" if postgres else f"v.column{number}"
        if not fill_only:
            value = f"COALESCE({new}, c.{name})"
        elif name in _NULLABLE_COLUMNS:
            value = f"COALESCE(c.{name}, {new})"
        else:
            value = f"CASE WHEN c.{name} = '' THEN COALESCE({new}, '') ELSE c.{name} END"
        assignments.append(f"{name} = {value}")
        changes.append(f"c.{name} IS DISTINCT FROM {value}" if postgres else f"c.{name} IS NOT {value}")
    update = (
        f"UPDATE customers_customer AS c SET {', '.join(assignments)}, updated_at = %s FROM {{rows}} AS v "  # noqa: S608
        f"WHERE c.id = {'v.id' if postgres else 'v.column1'} AND c.status = 'active' AND ({' OR '.join(changes)})"
    )
    now = ops.adapt_datetimefield_value(timezone.now())
    rows: list[tuple[Any, ...]] = []
    for customer_id, profile in profiles.items():
        row: list[Any] = [customer_id]
        for name in fields:
            given = profile.get(name)
            if name == "birth_date" and given is not None:
                given = ops.adapt_datefield_value(given)
            elif name == "signup_at" and given is not None:
                given = ops.adapt_datetimefield_value(given)
            row.append(given)
        rows.append(tuple(row))
    with connection.cursor() as cursor:
        if postgres:
            columns = [("id", "bigint"), *((name, _POSTGRES_TYPES.get(name, "text")) for name in fields)]
            staging = "ingest_customer_profiles"
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (id bigint, "
                + ", ".join(f"{name} {_POSTGRES_TYPES.get(name, 'text')}" for name in PROFILE_COLUMNS)
                + ") ON COMMIT DELETE ROWS"
            )
            _copy(cursor, f"COPY {staging} ({', '.join(name for name, _type in columns)}) FROM STDIN", rows)
            cursor.execute(update.format(rows=staging), [now])
            cursor.execute(f"DELETE FROM {staging}")  # noqa: S608
            return
        width = len(fields) + 1
        per_statement = MAX_PARAMS // width
        placeholder = "(" + ", ".join(["%s"] * width) + ")"
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            cursor.execute(
                update.format(rows=f"(VALUES {', '.join([placeholder] * len(batch))})"),
                [now, *(value for row in batch for value in row)],
            )
