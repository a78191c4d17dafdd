"""Rows of a CSV file, checked and turned into what ingestion takes."""

import datetime as dt
import functools
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeAlias

import orjson
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from psycopg.types.json import Jsonb

from crm.exports import FORMULA_STARTS, is_formula
from customers.contact import normalize_email, normalize_phone
from customers.imports.files import _Record
from customers.imports.mapping import IGNORE, PROPERTY, _normal
from customers.ingest import LINE_KINDS, CustomerRow
from customers.models import Interaction, SourceSystem

logger = logging.getLogger(__name__)

Label: TypeAlias = str | Promise


# --- rows: from CSV values to what ingestion takes ---------------------------------------------------


@dataclass
class RowError:
    """Why a row was rejected: its row number, the column (empty for the whole row), a code, a message."""

    row: int
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "code": self.code, "message": self.message}


@dataclass
class _Plan:
    """A mapping ready for reading rows: which value goes where."""

    kind: str
    source: SourceSystem
    width: int
    columns: list[tuple[int, str, str]]  # (index in the row, column name, target)
    column_of: dict[str, str] = field(default_factory=dict)  # target → column name
    today: dt.date = field(default_factory=timezone.localdate)

    @classmethod
    def of(cls, *, kind: str, source: SourceSystem, header: list[str], mapping: dict[str, str]) -> "_Plan":
        columns = [
            (index, name, mapping[name])
            for index, name in enumerate(header)
            if name and mapping.get(name, IGNORE) != IGNORE
        ]
        column_of: dict[str, str] = {}
        for _index, name, target in columns:
            column_of.setdefault(target, name)
        return cls(kind=kind, source=source, width=len(header), columns=columns, column_of=column_of)


def _cells(plan: _Plan, record: _Record, errors: list[RowError]) -> tuple[dict[str, str], dict[str, str]]:
    """A record's mapped values by target (stripped, empty ones left out) and its extra properties; the
    record's structural and formula errors are added to ``errors``."""
    if record.error:
        errors.append(
            RowError(
                record.row,
                "",
                "malformed",
                _("This row cannot be read as CSV (%(reason)s); check its quotes.")
                % {"reason": record.error},
            )
        )
        return {}, {}
    values = record.values
    if len(values) != plan.width and not (len(values) > plan.width and not any(values[plan.width :])):
        errors.append(
            RowError(
                record.row,
                "",
                "column_count",
                _("This row has %(count)d values where the header has %(width)d columns.")
                % {"count": len(values), "width": plan.width},
            )
        )
        return {}, {}
    cells: dict[str, str] = {}
    properties: dict[str, str] = {}
    for index, name, target in plan.columns:
        raw = values[index]
        if not raw:
            continue
        value = raw.strip()
        # The first characters decide; most cells are let through by the first test.
        if (raw[0] in _FORMULA_OR_SPACE or value[:1] in _FORMULA_OR_SPACE) and (
            is_formula(raw) or is_formula(value)
        ):
            errors.append(
                RowError(
                    record.row,
                    name,
                    "formula",
                    _(
                        "The value starts like a spreadsheet formula (=, +, -, @); the row is refused for safety."
                    ),
                )
            )
            continue
        if not value:
            continue
        if target == PROPERTY:
            properties[name] = value
        else:
            cells[target] = value
    return cells, properties


_FORMULA_OR_SPACE = frozenset((*FORMULA_STARTS, " "))
_DATE = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})\.?$|^(\d{4})(\d{2})(\d{2})$")
_DATETIME_SEPARATORS = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})")
_INTEGER = re.compile(r"^[+-]?\d+$")
_THOUSANDS = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+)(\.\d+)?$")
_GENDERS = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "여": "female",
    "여성": "female",
    "여자": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "남": "male",
    "남성": "male",
    "남자": "male",
    "other": "other",
    "기타": "other",
}
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,4})?$")


def _date(value: str) -> dt.date | None:
    match = _DATE.match(value)
    if not match:
        return None
    year, month, day = (int(part) for part in (match.groups()[:3] if match[1] else match.groups()[3:]))
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _datetime(value: str) -> dt.datetime | None:
    """An aware time from ISO 8601 or the forms spreadsheets write (2026-11-20 14:03, 2026.11.20 14:03:00,
    20261120, a date alone); without an offset it is a time of ``TIME_ZONE``."""
    try:
        parsed = dt.datetime.fromisoformat(value)  # the common case, and fast
    except ValueError:
        value = _DATETIME_SEPARATORS.sub(lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", value, count=1)
        try:
            parsed = parse_datetime(value)  # type: ignore[assignment]
        except ValueError:
            return None
        if parsed is None:
            day = _date(value)
            if day is None:
                return None
            parsed = dt.datetime.combine(day, dt.time())
    if parsed.tzinfo is None:
        # zoneinfo zones are attached, not localised: replace() picks the right offset.
        parsed = parsed.replace(tzinfo=timezone.get_default_timezone())
    return parsed


def _number(value: str) -> str:
    """A number as ingestion reads it: thousands separators dropped (129,000 → 129000)."""
    match = _THOUSANDS.match(value)
    return f"{match[1]}{match[2].replace(',', '')}{match[3] or ''}" if match else value


_LIMITS = {"name": 200, "email": 254, "phone": 40, "address": 300, "postal_code": 20, "region": 100}


def _customer_row(plan: _Plan, record: _Record, errors: list[RowError]) -> CustomerRow | None:
    """A customer row from a CSV record, or None (with its errors added) when it is rejected."""
    before = len(errors)
    cells, _properties = _cells(plan, record, errors)
    if len(errors) > before:
        return None
    row, column = record.row, plan.column_of

    def reject(target: str, code: str, message: str) -> None:
        errors.append(RowError(row, column.get(target, ""), code, message))

    external_id = cells.pop("external_id", "")
    if not external_id:
        reject("external_id", "required", _("The customer number is required."))
    elif len(external_id) > 128:
        reject("external_id", "max_length", _("At most %(max)d characters.") % {"max": 128})
    profile: dict[str, Any] = {}
    email = phone = ""
    for target, value in cells.items():
        if target in _LIMITS and len(value) > _LIMITS[target]:
            reject(target, "max_length", _("At most %(max)d characters.") % {"max": _LIMITS[target]})
        elif target == "email":
            email = normalize_email(value)
            if not email:
                reject(target, "invalid", _("Not an email address."))
            profile["email"] = email
        elif target == "phone":
            phone = normalize_phone(value)
            if not phone:
                reject(target, "invalid", _("Not a phone number."))
            profile["phone"], profile["phone_normalized"] = value, phone
        elif target == "birth_date":
            day = _date(value)
            if day is None:
                reject(target, "invalid", _("Not a date; write it as 1990-05-17."))
            elif not dt.date(1900, 1, 1) <= day <= plan.today:
                reject(target, "out_of_range", _("Not a plausible birth date."))
            profile["birth_date"] = day
        elif target == "gender":
            gender = _GENDERS.get(value.lower())
            if gender is None:
                reject(target, "invalid_choice", _("Write female, male or other (or 여/남)."))
            profile["gender"] = gender
        elif target == "preferred_language":
            if not _LANGUAGE.match(value):
                reject(target, "invalid", _("A language code such as ko or en."))
            profile["preferred_language"] = value.lower().replace("_", "-")
        elif target == "signup_at":
            signed_up = _datetime(value)
            if signed_up is None:
                reject(target, "invalid", _("Not a date and time; write it as 2026-11-20 14:03."))
            profile["signup_at"] = signed_up
        else:
            profile[target] = value
    if len(errors) > before:
        return None
    return CustomerRow(
        index=row,
        customer_source=plan.source,
        customer_external_id=external_id,
        profile=profile,
        email=email,
        phone=phone,
    )


# Where ingestion's error paths point, as import targets.
_EVENT_PATHS = {
    "customer.id": "customer_id",
    "customer.email": "customer_email",
    "customer.phone": "customer_phone",
    "customer.name": "customer_name",
    "lines.0.sku": "sku",
    "lines.0.quantity": "quantity",
    "lines.0.unit_price": "unit_price",
    "lines": "sku",
}


def _event(plan: _Plan, record: _Record, errors: list[RowError]) -> dict[str, Any] | None:
    """An event as ``events_ingest`` takes it, from a CSV record; None (with errors added) when the CSV
    values already fail."""
    before = len(errors)
    cells, properties = _cells(plan, record, errors)
    if len(errors) > before:
        return None
    row, column = record.row, plan.column_of

    def reject(target: str, code: str, message: str) -> None:
        errors.append(RowError(row, column.get(target, ""), code, message))

    code = plan.source.code
    customer = {"source": code}
    for target, key in (
        ("customer_id", "id"),
        ("customer_email", "email"),
        ("customer_phone", "phone"),
        ("customer_name", "name"),
    ):
        if target in cells:
            customer[key] = cells.pop(target)
    event: dict[str, Any] = {"source": code, "customer": customer}
    line: dict[str, Any] = {}
    for target, value in cells.items():
        if target == "occurred_at":
            occurred_at = _datetime(value)
            if occurred_at is None:
                reject(
                    target,
                    "invalid",
                    _("Not a date and time; write it as 2026-11-20 14:03 or 2026-11-20T14:03:00+09:00."),
                )
            else:
                event["occurred_at"] = occurred_at.isoformat()
        elif target == "nps_score" or target == "quantity":
            if not _INTEGER.match(value):
                reject(target, "invalid", _("A whole number."))
            elif target == "quantity":
                line["quantity"] = int(value)
            else:
                event["nps_score"] = int(value)
        elif target == "amount":
            event["amount"] = _number(value)
        elif target == "sku":
            line["sku"] = value
        elif target == "unit_price":
            line["unit_price"] = _number(value)
        elif target in _CHOICE_TARGETS:
            # The value, or its label in English or Korean (구매, 웹 방문, 매장); anything else goes on to be
            # refused by ingestion with the list of values.
            event[target] = _choice(target, value)
        else:
            event[target] = value
    if line:
        if "sku" not in line:
            reject("sku", "required", _("A quantity or unit price needs the product's SKU."))
        event["lines"] = [line]
    if properties:
        event["properties"] = properties
    return None if len(errors) > before else event


_CHOICE_TARGETS = {"kind": Interaction.Kind, "channel": Interaction.Channel}


@functools.cache
def _choices(target: str) -> dict[str, str]:
    """A choice field's values by themselves and by their English and Korean labels, normalised."""
    choices = _CHOICE_TARGETS[target]
    lookup: dict[str, str] = {}
    for language in ("en", "ko"):
        with translation.override(language):
            lookup.update({_normal(str(label)): value for value, label in choices.choices})
    lookup.update({_normal(value): value for value in choices.values})
    return lookup


@functools.lru_cache(maxsize=1024)
def _choice(target: str, value: str) -> str:
    """The choice a cell names (a file repeats a few values over and over: each is normalised once)."""
    return _choices(target).get(_normal(value), value)


# --- plain rows: typed here, stored by one statement (customers.ingest.staged) ----------------------

_LINE_KINDS = frozenset(LINE_KINDS)
_KIND_VALUES = frozenset(Interaction.Kind.values)
_CHANNEL_VALUES = frozenset(Interaction.Channel.values)
_DIGITS = re.compile(r"^[0-9]{1,6}$")
_PLAIN_AMOUNT = re.compile(r"^[0-9]{1,14}(?:\.[0-9]{1,2})?$")
_PLAIN_PRICE = re.compile(r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$")
_PLAIN_CURRENCY = re.compile(r"^[A-Z]{3}$")
_FORMULA_STARTS = frozenset(FORMULA_STARTS)
_PAD = [""]


@dataclass
class _PlainLayout:
    """Where each target's value sits in a record, for reading plain rows (``width``, one past the
    record's values, where ``_plain_event`` puts an empty one, for a target without a column)."""

    width: int
    columns: list[int]  # every mapped column's index, for the cell checks
    external_id: int
    customer_id: int
    name: int
    kind: int
    channel: int
    occurred_at: int
    amount: int
    currency: int
    summary: int
    nps_score: int
    location: int
    sku: int
    quantity: int
    unit_price: int
    contact: list[int]  # email and phone: a row that gives either goes the ordinary way
    properties: list[tuple[int, str]]

    @classmethod
    def of(cls, plan: _Plan) -> "_PlainLayout":
        index: dict[str, int] = {}
        properties = []
        for position, name, target in plan.columns:
            if target == PROPERTY:
                properties.append((position, name))
            else:
                index.setdefault(target, position)
        return cls(
            width=plan.width,
            columns=[position for position, _name, _target in plan.columns],
            contact=[index[t] for t in ("customer_email", "customer_phone") if t in index],
            properties=properties,
            **{
                target: index.get(mapped, plan.width)
                for target, mapped in (
                    ("external_id", "external_id"),
                    ("customer_id", "customer_id"),
                    ("name", "customer_name"),
                    ("kind", "kind"),
                    ("channel", "channel"),
                    ("occurred_at", "occurred_at"),
                    ("amount", "amount"),
                    ("currency", "currency"),
                    ("summary", "summary"),
                    ("nps_score", "nps_score"),
                    ("location", "location"),
                    ("sku", "sku"),
                    ("quantity", "quantity"),
                    ("unit_price", "unit_price"),
                )
            },
        )


def _plain_event(layout: _PlainLayout, record: _Record) -> tuple[Any, ...] | None:
    """A record as a row of ``customers.ingest.staged.PLAIN_COLUMNS`` when it is plain: well formed, no
    value with spaces around it or starting like a formula (or a sign), no email or phone, and every
    value one that ``_event`` and ``events_validate`` take as it is. None for any other record, which
    then goes the ordinary way (and gets its errors there). Whether its product and location exist is
    the statement's to find out."""
    values = record.values
    if record.error or len(values) != layout.width:
        return None
    for position in layout.columns:
        value = values[position]
        if value and (value[0] in _FORMULA_STARTS or value[0].isspace() or value[-1].isspace()):
            return None
    for position in layout.contact:
        if values[position]:
            return None

    cells = values + _PAD
    external_id, customer_id = cells[layout.external_id], cells[layout.customer_id]
    name, summary = cells[layout.name], cells[layout.summary]
    if not 0 < len(external_id) <= 128 or not 0 < len(customer_id) <= 128:
        return None
    if len(name) > 200 or len(summary) > 500:
        return None
    kind, channel = cells[layout.kind], cells[layout.channel]
    kind = _choice("kind", kind) if kind else ""
    channel = _choice("channel", channel) if channel else ""
    if kind not in _KIND_VALUES or channel not in _CHANNEL_VALUES:
        return None
    occurred = cells[layout.occurred_at]
    occurred_at = _datetime(occurred) if occurred else None
    if occurred_at is None or occurred_at.utcoffset().seconds % 60:  # type: ignore[union-attr]
        return None  # (an offset in seconds, from before 1908 in Seoul: parse_datetime refuses it)
    amount_text, currency = cells[layout.amount], cells[layout.currency]
    amount = None
    if amount_text:
        amount_text = _number(amount_text)
        if not _PLAIN_AMOUNT.match(amount_text):
            return None
        amount = Decimal(amount_text)
    if currency and not _PLAIN_CURRENCY.match(currency):
        return None
    nps_text = cells[layout.nps_score]
    nps_score = None
    if nps_text:
        if kind != "survey" or not _DIGITS.match(nps_text) or int(nps_text) > 10:
            return None
        nps_score = int(nps_text)
    sku, quantity_text, price_text = cells[layout.sku], cells[layout.quantity], cells[layout.unit_price]
    quantity = unit_price = None
    if sku or quantity_text or price_text:
        if not sku or len(sku) > 64 or kind not in _LINE_KINDS:
            return None
        quantity = 1
        if quantity_text:
            if not _DIGITS.match(quantity_text) or not 0 < int(quantity_text) <= 100_000:
                return None
            quantity = int(quantity_text)
        if price_text:
            price_text = _number(price_text)
            if not _PLAIN_PRICE.match(price_text):
                return None
            unit_price = Decimal(price_text)
    if amount is not None and not currency:
        return None  # currency required with an amount
    if currency and amount is None and not (kind in _LINE_KINDS and sku):
        return None  # an amount required with a currency (a purchase's lines give it)
    if kind in _LINE_KINDS and amount is None and not (sku and currency):
        return None  # a purchase or return needs an amount, or lines and a currency
    location = cells[layout.location]
    if len(location) > 40:
        return None
    properties = None
    if layout.properties:
        given = {name: values[position] for position, name in layout.properties if values[position]}
        if given:
            properties = Jsonb(given, dumps=_json_text)
    return (
        record.row,
        external_id,
        customer_id,
        name or None,
        kind,
        channel,
        occurred_at,
        amount,
        currency or None,
        summary or None,
        nps_score,
        location or None,
        sku or None,
        quantity,
        unit_price,
        properties,
    )


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _ingest_errors(plan: _Plan, row: int, by_path: dict[str, list[dict[str, str]]]) -> list[RowError]:
    errors = []
    for path, items in by_path.items():
        target = _EVENT_PATHS.get(path, path)
        name = plan.column_of.get(target, "")
        for item in items:
            errors.append(RowError(row, name, item["code"], item["message"]))
    return errors
