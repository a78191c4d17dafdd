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
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

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

    def condition(self) -> Q:
        condition = Q()
        if self.kinds:
            condition &= Q(kind__in=self.kinds)
        if self.channels:
            condition &= Q(channel__in=self.channels)
        if self.source:
            condition &= Q(source_system__code=self.source)
        if self.since is not None:
            condition &= Q(occurred_at__gte=self.since)
        if self.until is not None:
            condition &= Q(occurred_at__lt=self.until)
        return condition


@dataclass
class TimelinePage:
    """Items (dicts of ``ITEM_FIELDS`` plus ``source``), newest first, and the cursor of the next page."""

    items: list[dict[str, Any]]
    next_cursor: str | None

    @property
    def newest(self) -> Position | None:
        return Position.of(self.items[0]) if self.items else None


def _rows(customer_id: int, filters: TimelineFilters) -> "QuerySet[Interaction, dict[str, Any]]":
    return (
        Interaction.objects.filter(filters.condition(), customer_id=customer_id)
        .values(*ITEM_FIELDS, source=F("source_system__code"))
        .order_by("-occurred_at", "-id")
    )


def timeline_page(
    *,
    customer_id: int,
    filters: TimelineFilters | None = None,
    cursor: str | None = None,
    size: int = PAGE_SIZE,
    with_lines: bool = False,
) -> TimelinePage:
    """The page of a customer's timeline below ``cursor`` (from the newest when None).

    Raises ``InvalidCursor`` for a cursor this module did not make.
    """
    rows = _rows(customer_id, filters or TimelineFilters())
    if cursor:
        position = Position.decode(cursor)
        rows = rows.filter(
            Q(occurred_at__lt=position.occurred_at) | Q(occurred_at=position.occurred_at, id__lt=position.id),
            occurred_at__lte=position.occurred_at,
        )
    items: list[dict[str, Any]] = list(rows[: size + 1])
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
    rows = _rows(customer_id, filters or TimelineFilters())
    if after is not None:
        rows = rows.filter(
            Q(occurred_at__gt=after.occurred_at) | Q(occurred_at=after.occurred_at, id__gt=after.id),
            occurred_at__gte=after.occurred_at,
        )
    items: list[dict[str, Any]] = list(rows[:size])
    if with_lines:
        timeline_lines_attach(items)
    return items


def timeline_lines_attach(items: list[dict[str, Any]]) -> None:
    """Set ``lines`` on every item: the purchase lines of purchases and returns (one query), [] on others."""
    wanted = [item["id"] for item in items if item["kind"] in {"purchase", "return"}]
    by_interaction: dict[int, list[dict[str, Any]]] = {}
    if wanted:
        lines = (
            PurchaseLine.objects.filter(interaction_id__in=wanted)
            .values(
                "interaction_id",
                "quantity",
                "unit_price",
                "currency",
                sku=F("product__sku"),
                product_name=F("product__name"),
            )
            .order_by("interaction_id", "id")
        )
        for row in lines:
            line: dict[str, Any] = dict(row)
            line["total"] = line["unit_price"] * line["quantity"]
            by_interaction.setdefault(line.pop("interaction_id"), []).append(line)
    for item in items:
        item["lines"] = by_interaction.get(item["id"], [])
