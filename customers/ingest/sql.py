"""Statements of many rows: COPY on PostgreSQL, multi-row statements on SQLite."""

import contextlib
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction

from customers.ingest.types import MAX_PARAMS

# On PostgreSQL, rows travel by COPY: into their table when nothing can conflict (rows with ids taken
# from the sequence beforehand, purchase lines), else into a temporary table and on with one
# INSERT ... SELECT (which ON CONFLICT and RETURNING need); a batch's look-ups join a COPYed key table.
# psycopg then neither parses thousands of placeholders nor quotes arrays in Python, which cost five to
# ten times what COPY does (measured: quoting 1,000-item arrays was a tenth of a batch's time).
# SQLite binds its parameters natively and gets the plain forms.

# The temporary tables each database session is known to have: created outside any transaction, so no
# rollback can take them away again; later batches skip the CREATE's round trip. Inside a transaction a
# table is created with IF NOT EXISTS each time (a rollback would drop it).
_staged: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()
_definitions: dict[str, str] = {}


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _define(name: str, definitions: str) -> None:
    """Declare a temporary table the ingestion uses, so that ``staging_prepare`` makes it up front."""
    _definitions[name] = definitions


def _staging_of(table: str, columns: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """The temporary table rows of ``table`` are COPYed into before an INSERT ... SELECT: name, columns."""
    return f"ingest_{table}", ", ".join(f"{name} {pg_type}" for name, pg_type in columns)


def _staging(cursor: Any, name: str, definitions: str) -> None:
    """Make sure this session has the temporary table ``name``; its rows go at each commit."""
    _definitions[name] = definitions
    if name in _staged.get(connection.connection, ()):
        return
    cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({definitions}) ON COMMIT DELETE ROWS")


def staging_prepare() -> None:
    """Outside a transaction, create the temporary tables ingestion uses, once per database session, and
    remember them: the batches that follow on this session need no CREATE."""
    if not _postgres() or connection.in_atomic_block or not _definitions:
        return
    connection.ensure_connection()
    made = _staged.setdefault(connection.connection, set())
    missing = [name for name in _definitions if name not in made]
    if not missing:
        return
    with connection.cursor() as cursor:
        for name in missing:
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({_definitions[name]}) ON COMMIT DELETE ROWS"
            )
    made.update(missing)


def _ids_allocate(cursor: Any, table: str, count: int) -> list[int]:
    """``count`` ids from the table's id sequence, in one statement, so rows can be COPYed with them."""
    cursor.execute(
        "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))::regclass) FROM generate_series(1, %s)",
        [table, count],
    )
    return [row[0] for row in cursor.fetchall()]


def _copy_new(
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: list[tuple[Any, ...]],
    *,
    with_ids: bool = False,
    guarded: bool = True,
) -> list[int] | None:
    """PostgreSQL: COPY rows the batch's look-up found new straight into ``table`` (the fastest way in:
    no temporary table, no speculative ON CONFLICT insertion), with ids from the table's sequence when
    ``with_ids``; return those ids. When a concurrent transaction stored one of the rows since the look-up,
    the unique constraint refuses the COPY, its savepoint is rolled back and None is returned: the caller
    then takes the ON CONFLICT path, which sorts out which rows are whose. Not ``guarded``, the COPY runs
    without a savepoint of its own and the unique violation propagates: the caller's savepoint handles it."""
    names = ", ".join(name for name, _type in columns)
    types = [pg_type for _name, pg_type in columns]
    with connection.cursor() as cursor:
        ids = _ids_allocate(cursor, table, len(rows)) if with_ids else []
    try:
        with transaction.atomic() if guarded else contextlib.nullcontext(), connection.cursor() as cursor:
            if with_ids:
                _copy(
                    cursor,
                    f"COPY {table} (id, {names}) FROM STDIN",
                    [(pk, *row) for pk, row in zip(ids, rows, strict=True)],
                    ["bigint", *types],
                )
            else:
                _copy(cursor, f"COPY {table} ({names}) FROM STDIN", rows, types)
    except (IntegrityError, psycopg.errors.UniqueViolation):
        if not guarded:
            raise
        return None
    return ids


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
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: list[tuple[Any, ...]],
    suffix: str = "",
    *,
    direct: bool = False,
) -> list[tuple[Any, ...]]:
    """Insert rows (values in the order of ``columns``, each a name and its PostgreSQL type) in as few
    statements as parameter limits allow; return what ``suffix``'s RETURNING gives. ``direct`` rows
    cannot conflict and need nothing returned: on PostgreSQL they are COPYed straight into the table."""
    if not rows:
        return []
    names = ", ".join(name for name, _type in columns)
    types = [pg_type for _name, pg_type in columns]
    returning = "RETURNING" in suffix
    with connection.cursor() as cursor:
        if _postgres() and direct:
            _copy(cursor, f"COPY {table} ({names}) FROM STDIN", rows, types)
            return []
        if _postgres():
            staging, definitions = _staging_of(table, columns)
            _staging(cursor, staging, definitions)
            _copy(cursor, f"COPY {staging} ({names}) FROM STDIN", rows, types)
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


def _copy(cursor: Any, sql: str, rows: list[tuple[Any, ...]], types: Sequence[str] | None = None) -> None:
    """Run a COPY ... FROM STDIN with the rows, listed with the queries Django records (for tests that count
    statements and for the debug toolbar) though it runs on the driver's cursor.

    With the columns' PostgreSQL ``types`` the rows travel in COPY's binary format, which psycopg writes
    three times faster than text (1.7 µs against 5.3 µs a row of an interaction, measured): the values
    must then be of those types exactly (a ``jsonb`` value as psycopg's ``Jsonb``)."""
    started = time.monotonic()
    if types is not None:
        sql += " (FORMAT BINARY)"
    with cursor.cursor.copy(sql) as copy:
        if types is not None:
            copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
