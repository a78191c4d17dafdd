"""Validation of events as integrations send them, into ``_Event``s or field errors."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from crm.models import Location, Product
from customers.contact import normalize_email, normalize_phone
from customers.ingest.sql import _in
from customers.ingest.types import (
    _CHANNELS,
    _CURRENCY,
    _CUSTOMER_FIELDS,
    _EVENT_FIELDS,
    _KINDS,
    _LINE_FIELDS,
    _MAX_AMOUNT,
    LINE_KINDS,
    _Errors,
    _Event,
    _Line,
    _Product,
)
from customers.models import SourceSystem
from customers.privacy.consent import consent_changes_validate

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


def _products(events: list[Any]) -> dict[str, _Product]:
    skus: set[str] = set()
    for raw in events:
        if isinstance(raw, dict) and isinstance(raw.get("lines"), list):
            skus.update(
                line["sku"]
                for line in raw["lines"]
                if isinstance(line, dict) and isinstance(line.get("sku"), str)
            )
    if not skus:
        return {}
    # A batch names hundreds of SKUs: one array parameter and plain rows (the queryset's IN list of
    # hundreds of placeholders and its row handling cost 4.5 ms of a batch's Python; measured).
    condition, params = _in("sku", list(skus))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sku, id, supplier_id, price, cost FROM {Product._meta.db_table} WHERE {condition}",  # noqa: S608
            params,
        )
        return {
            sku: _Product(pk, supplier_id, _money(price), _money(cost))
            for sku, pk, supplier_id, price, cost in cursor
        }


_CENTS = Decimal("0.01")


def _money(value: Any) -> Decimal:
    """A price column's value as the ORM gives it: PostgreSQL's numeric is a Decimal already, SQLite's
    an int or a float."""
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(_CENTS)


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
    value = raw.get(key)
    # The common cases first, cheaply: a fine string, or an optional field left out.
    if isinstance(value, str):
        stripped = value.strip()
        if 0 < len(stripped) <= max_length:
            return stripped
    elif value is None and not required:
        return ""
    path = path or key
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
    products: dict[str, _Product],
    locations: dict[str, int],
) -> tuple[_Event | None, _Errors]:
    errors = _Errors()
    if not isinstance(raw, dict):
        errors.add("non_field_errors", "invalid", "An event must be a JSON object.")
        return None, errors
    if not _EVENT_FIELDS.issuperset(raw):
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
        elif occurred_at.utcoffset() is None:  # naive
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
        if not _CUSTOMER_FIELDS.issuperset(customer):
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


def _validate_lines(value: Any, kind: str, products: dict[str, _Product], errors: _Errors) -> list[_Line]:
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
        if not _LINE_FIELDS.issuperset(raw):
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
