"""The shapes of ingestion: a batch's answer, a validated event, field errors."""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from customers.models import Interaction, SourceSystem

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


class _Product(NamedTuple):
    """What a purchase line needs of its catalog product."""

    pk: int
    supplier_id: int
    price: Decimal
    cost: Decimal


@dataclass
class _Line:
    product: _Product
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
