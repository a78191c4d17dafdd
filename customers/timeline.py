"""The unified timeline of one customer: every interaction, newest first, read by keyset.

Pages are read along the timeline index ``(customer_id, occurred_at DESC, id DESC)``. A cursor is the
position ``(occurred_at, id)`` of the last item shown; the next page is every item strictly below it in
that order, so items that share a timestamp are each returned exactly once, however pages cut through
them. ``occurred_at <= t`` is repeated beside the tie-break so that PostgreSQL seeks the index to the
cursor instead of reading the newer items again. Polling for new items is the mirror image: everything
strictly above the newest item shown.

A page costs one query (its rows, with their source system's code), and a second for the purchase lines
when the caller asks for them; never OFFSET, never COUNT(*).
"""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crm.db import prepared_cursor
from crm.models import Product
from crm.rows import column_converters
from customers.models import Interaction, PurchaseLine

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ITEM_FIELDS = (
    "id",
    "kind",
    "channel",
    "occurred_at",
    "amount",
    "currency",
    "summary",
    "nps_score",
    "properties",
    "external_id",
    "recorded_at",
)


class InvalidCursor(ValueError):
    """A cursor that this module did not make."""


@dataclass(frozen=True)
class Position:
    """Where an item stands in the timeline's order."""

    occurred_at: dt.datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.occurred_at.astimezone(dt.UTC).isoformat()}|{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> "Position":
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            occurred, _, pk = raw.partition("|")
            occurred_at = parse_datetime(occurred)
            if occurred_at is None or timezone.is_naive(occurred_at) or not pk.isdigit():
                raise InvalidCursor(cursor)
            return cls(occurred_at=occurred_at, id=int(pk))
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise InvalidCursor(cursor) from error

    @classmethod
    def of(cls, item: dict[str, Any]) -> "Position":
        return cls(occurred_at=item["occurred_at"], id=item["id"])


@dataclass(frozen=True)
class TimelineFilters:
    """What a reader narrows the timeline to; empty means everything."""

    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    source: str = ""
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive


@dataclass
class TimelinePage:
    """Items (dicts of ``ITEM_FIELDS`` plus ``source``), newest first, and the cursor of the next page."""

    items: list[dict[str, Any]]
    next_cursor: str | None

    @property
    def newest(self) -> Position | None:
        return Position.of(self.items[0]) if self.items else None


def page_statement(
    customer_id: int, filters: TimelineFilters, where: str, params: list[Any], size: int
) -> tuple[str, list[Any]]:
    """The statement of a page and its parameters: ``ITEM_FIELDS`` plus ``source``, newest first."""
    conditions = ["i.customer_id = %s"]
    values: list[Any] = [customer_id]
    if filters.kinds:
        conditions.append(f"i.kind IN ({', '.join(['%s'] * len(filters.kinds))})")
        values += filters.kinds
    if filters.channels:
        conditions.append(f"i.channel IN ({', '.join(['%s'] * len(filters.channels))})")
        values += filters.channels
    if filters.source:
        conditions.append("s.code = %s")
        values.append(filters.source)
    if filters.since is not None:
        conditions.append("i.occurred_at >= %s")
        values.append(filters.since)
    if filters.until is not None:
        conditions.append("i.occurred_at < %s")
        values.append(filters.until)
    if where:
        conditions.append(where)
        values += params
    columns = _columns(connection.vendor)
    sql = (
        f"SELECT {columns}, s.code FROM {_INTERACTIONS} i "  # noqa: S608  # names from the model
        f"JOIN {_SOURCES} s ON s.id = i.source_system_id "
        f"WHERE {' AND '.join(conditions)} "
        "ORDER BY i.occurred_at DESC, i.id DESC LIMIT %s"
    )
    values.append(size)
    return sql, [_adapt(value) for value in values]


def _select(
    customer_id: int, filters: TimelineFilters, where: str, params: list[Any], size: int, raw_json: bool
) -> list[dict[str, Any]]:
    """Rows of ``ITEM_FIELDS`` plus ``source``, newest first: one statement written out rather than
    compiled by the ORM (compiling the queryset cost more CPU than PostgreSQL spends on the seek), and
    prepared on PostgreSQL (``crm.db``: planning it cost as much as running it), with Django's own
    converters applied to each column, so values are what the ORM would give.

    ``raw_json`` leaves ``properties`` as the JSON text the database sent, for callers that embed it in
    a JSON answer as it is."""
    sql, values = page_statement(customer_id, filters, where, params, size)
    with prepared_cursor() as cursor:
        cursor.execute(sql, values)
        items = [dict(zip(_NAMES, row, strict=True)) for row in cursor.fetchall()]
    wrapper = connections[DEFAULT_DB_ALIAS]
    for name, converters in column_converters(Interaction, _CONVERTED[raw_json]).items():
        for item in items:
            value = item[name]
            for convert, expression in converters:
                value = convert(value, expression, wrapper)
            item[name] = value
    return items


_INTERACTIONS = Interaction._meta.db_table
_SOURCES = Interaction._meta.get_field("source_system").related_model._meta.db_table  # type: ignore[union-attr]
_NAMES = (*ITEM_FIELDS, "source")


def _adapt(value: Any) -> Any:
    """A parameter as the ORM would bind it (SQLite stores times as naive UTC text)."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


@cache
def _columns(vendor: str) -> str:
    names = (cast("Field[Any, Any]", Interaction._meta.get_field(name)).column for name in ITEM_FIELDS)
    return ", ".join(f"i.{connection.ops.quote_name(name)}" for name in names)


# The columns that get Django's converters: all of them, or all but the properties left as JSON text.
_CONVERTED = {False: ITEM_FIELDS, True: tuple(name for name in ITEM_FIELDS if name != "properties")}


def below(position: Position) -> tuple[str, list[Any]]:
    """The keyset condition of the items older than ``position`` (newest first, ties broken by id)."""
    at = position.occurred_at
    return "i.occurred_at <= %s AND (i.occurred_at < %s OR (i.occurred_at = %s AND i.id < %s))", [
        at,
        at,
        at,
        position.id,
    ]


def timeline_page(
    *,
    customer_id: int,
    filters: TimelineFilters | None = None,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    with_lines: bool = False,
    raw_json: bool = False,
) -> TimelinePage:
    """The page of a customer's timeline below ``cursor`` (from the newest when None).

    Raises ``InvalidCursor`` for a cursor this module did not make.
    """
    where, params = below(Position.decode(cursor)) if cursor else ("", [])
    items = _select(customer_id, filters or TimelineFilters(), where, params, size + 1, raw_json)
    more = len(items) > size
    items = items[:size]
    if with_lines:
        timeline_lines_attach(items)
    return TimelinePage(items=items, next_cursor=Position.of(items[-1]).encode() if more else None)


def timeline_newer(
    *,
    customer_id: int,
    after: Position | None,
    filters: TimelineFilters | None = None,
    size: int = PAGE_SIZE,
    with_lines: bool = False,
) -> list[dict[str, Any]]:
    """Up to ``size`` items above ``after`` in the timeline's order (the newest ones when more arrived),
    newest first: what a page that shows ``after`` as its newest item has not shown yet."""
    where, params = "", []
    if after is not None:
        where = "i.occurred_at >= %s AND (i.occurred_at > %s OR (i.occurred_at = %s AND i.id > %s))"
        params = [after.occurred_at, after.occurred_at, after.occurred_at, after.id]
    items = _select(customer_id, filters or TimelineFilters(), where, params, size, raw_json=False)
    if with_lines:
        timeline_lines_attach(items)
    return items


def _lines_sql(vendor: str, count: int) -> str:
    """The purchase lines of ``count`` interactions with their product's SKU and name, by interaction
    and line: on PostgreSQL one statement for any count (``= ANY`` of an array), so that it is prepared."""
    lines, products = PurchaseLine._meta.db_table, Product._meta.db_table
    wanted = "= ANY(%s)" if vendor == "postgresql" else f"IN ({', '.join(['%s'] * count)})"
    return (
        "SELECT l.interaction_id, l.quantity, l.unit_price, l.currency, p.sku, p.name "  # noqa: S608
        f"FROM {lines} l JOIN {products} p ON p.id = l.product_id "
        f"WHERE l.interaction_id {wanted} ORDER BY l.interaction_id, l.id"
    )


_LINE_FIELDS = ("quantity", "unit_price", "currency")


def timeline_lines_attach(items: list[dict[str, Any]]) -> None:
    """Set ``lines`` on every item: the purchase lines of purchases and returns (one query), [] on others.
    A line is a dict of ``quantity``, ``unit_price``, ``currency``, ``sku``, ``product_name`` and ``total``."""
    wanted = [item["id"] for item in items if item["kind"] in {"purchase", "return"}]
    by_interaction: dict[int, list[dict[str, Any]]] = {}
    if wanted:
        vendor = connection.vendor
        with prepared_cursor() as cursor:
            cursor.execute(_lines_sql(vendor, len(wanted)), [wanted] if vendor == "postgresql" else wanted)
            rows = cursor.fetchall()
        wrapper = connections[DEFAULT_DB_ALIAS]
        converters = column_converters(PurchaseLine, _LINE_FIELDS)
        for interaction_id, quantity, unit_price, currency, sku, product_name in rows:
            line: dict[str, Any] = {
                "quantity": quantity,
                "unit_price": unit_price,
                "currency": currency,
                "sku": sku,
                "product_name": product_name,
            }
            for name, found in converters.items():
                value = line[name]
                for convert, expression in found:
                    value = convert(value, expression, wrapper)
                line[name] = value
            line["total"] = line["unit_price"] * line["quantity"]
            by_interaction.setdefault(interaction_id, []).append(line)
    for item in items:
        item["lines"] = by_interaction.get(item["id"], [])
