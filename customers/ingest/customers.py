"""Customers from source systems: a set-based, idempotent upsert by their id there."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from customers.ingest.identity import customers_resolve
from customers.ingest.sql import _copy, _define, _postgres, _staging
from customers.ingest.types import MAX_PARAMS
from customers.models import CustomerIdentity, SourceSystem

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
_PROFILE_STAGING = "id bigint, " + ", ".join(
    f"{name} {_POSTGRES_TYPES.get(name, 'text')}" for name in PROFILE_COLUMNS
)
_define("ingest_customer_profiles", _PROFILE_STAGING)


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
        key = (row.customer_source.id, row.customer_external_id)
        if key in first:
            head = first[key]
            head.profile.update(row.profile)
            head.email, head.phone = row.email or head.email, row.phone or head.phone
            repeats.append((row, head))
        else:
            first[key] = row
    unique = list(first.values())
    with transaction.atomic():
        customers_resolve(
            unique, new_customer=_new_customer_of_rows, new_match=CustomerIdentity.MatchedBy.IMPORT
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


def _new_customer_of_rows(members: list[CustomerRow], now: dt.datetime) -> dict[str, Any]:
    return dict(members[0].profile)


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
            _staging(cursor, staging, _PROFILE_STAGING)
            _copy(
                cursor,
                f"COPY {staging} ({', '.join(name for name, _type in columns)}) FROM STDIN",
                rows,
                [pg_type for _name, pg_type in columns],
            )
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
