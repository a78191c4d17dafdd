"""Set-based inserts of identities, interactions and purchase lines."""

import json
from typing import Any

import orjson
from django.db import connection
from django.utils import timezone
from psycopg.types.json import Jsonb

from customers.ingest.sql import _copy_new, _define, _insert, _postgres, _select_by_keys, _staging_of
from customers.ingest.types import ItemResult, _Event, _Line

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
    ("nps_score", "smallint"),  # the types are the columns' own: binary COPY takes no other
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

_define(*_staging_of("customers_customeridentity", _IDENTITY_COLUMNS))
_define(*_staging_of("customers_interaction", _INTERACTION_COLUMNS))


def _json(value: Any) -> str:
    """JSON text of a property object: orjson, or the standard library for what orjson refuses (integers
    beyond 64 bits)."""
    if not value:
        return "{}"  # most events carry no properties
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _insert_interactions(events: list[_Event], *, guarded: bool = True) -> None:
    """Insert the events the look-up found new, with their purchase lines, and set each one's result.
    An event stored meanwhile by a concurrent batch answers ``duplicate``; not ``guarded`` (no look-up
    ran for stored copies), the unique violation propagates to the caller instead (see ``_store_new``)."""
    postgres = _postgres()
    # PostgreSQL's binary COPY takes the Python values as they are: no per-row adapting there.
    adapt_datetime = connection.ops.adapt_datetimefield_value
    adapt_decimal = connection.ops.adapt_decimalfield_value
    now = timezone.now() if postgres else adapt_datetime(timezone.now())
    rows: list[tuple[Any, ...]] = [
        (
            event.customer_id,
            event.source.id,
            event.external_id,
            event.kind,
            event.channel,
            event.occurred_at if postgres else adapt_datetime(event.occurred_at),
            event.amount if postgres else adapt_decimal(event.amount, 16, 2),
            event.currency,
            event.summary,
            event.nps_score,
            Jsonb(_json(event.properties), dumps=str) if postgres else _json(event.properties),
            now,
        )
        for event in events
    ]
    ids = (
        _copy_new("customers_interaction", _INTERACTION_COLUMNS, rows, with_ids=True, guarded=guarded)
        if postgres
        else None
    )
    if ids is not None:
        inserted = {(e.source.id, e.external_id): pk for e, pk in zip(events, ids, strict=True)}
    else:
        returned = _insert(
            "customers_interaction",
            _INTERACTION_COLUMNS,
            rows,
            "ON CONFLICT (source_system_id, external_id) DO NOTHING RETURNING id, source_system_id, external_id",
        )
        inserted = {(s, x): pk for pk, s, x in returned}
    raced = [e for e in events if (e.source.id, e.external_id) not in inserted]
    existing = _existing_interactions([(e.source.id, e.external_id) for e in raced]) if raced else {}
    line_rows: list[Any] = []
    for event in events:
        key = (event.source.id, event.external_id)
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
    _insert(  # lines cannot conflict: straight into their table
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
        direct=True,
    )


def _existing_interactions(keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int]]:
    rows = _select_by_keys("customers_interaction", "source_system_id, external_id, id, customer_id", keys)
    return {(s, x): (pk, c) for s, x, pk, c in rows}
